//! `rdata_from_text`, the inverse of `rdata_to_text`: round trips over real dnspython output
//! (the testbed's expected RRsets and the differential vectors), the variants other
//! producers print, hostile text, and a deterministic property loop over every type.

use std::io::Read;
use std::path::PathBuf;

use dnsledger_wire::{
    push_rdata_text, rdata_from_text, rdata_to_text, rtype, type_from_name, type_name, Message,
    MessageBuilder, NameBuf, Section, WireError,
};

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|_| panic!("hex {s}")))
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// The canonical form of `rdata` as the sensor computes it (through a real message), or
/// `None` if it is not a valid rdata of its type.
fn canonical(rtype: u16, rdata: &[u8]) -> Option<Vec<u8>> {
    let owner = NameBuf::root();
    let wire = MessageBuilder::query(1, &owner, rtype)
        .response()
        .record(Section::Answer, &owner, rtype, 0, rdata)
        .build();
    let msg = Message::parse(&wire).ok()?;
    let record = msg.records().next()?.ok()?;
    let mut out = Vec::new();
    record.canonical_rdata(&mut out).ok()?;
    Some(out)
}

/// The two documented places where the text does not carry every byte: trailing zero bytes
/// of a WKS bitmap, and an ISDN subaddress that is present but empty. Both scan back to the
/// shorter form, which prints the same.
fn lossless_exception(rtype: u16, wire: &[u8], scanned: &[u8]) -> bool {
    let same_text = rdata_to_text(rtype, wire).ok() == rdata_to_text(rtype, scanned).ok();
    same_text
        && match rtype {
            rtype::WKS => {
                wire.len() > scanned.len()
                    && wire.starts_with(scanned)
                    && wire[scanned.len()..].iter().all(|&b| b == 0)
            }
            rtype::ISDN => wire.len() == scanned.len() + 1 && wire.ends_with(&[0]),
            _ => false,
        }
}

/// Formats canonical `wire` the way every producer of ours does (`push_rdata_text`, which
/// falls back to `\#`), scans it back and compares; `None` if equal.
fn round_trip(rtype: u16, wire: &[u8]) -> Option<String> {
    let mut text = String::new();
    push_rdata_text(&mut text, rtype, wire);
    match rdata_from_text(rtype, &text) {
        Ok(back) if back == wire || lossless_exception(rtype, wire, &back) => None,
        got => Some(format!(
            "{} {} -> {text:?} -> {:?}",
            type_name(rtype),
            to_hex(wire),
            got.map(|b| to_hex(&b))
        )),
    }
}

#[test]
fn testbed_rdata_scan_back_to_their_wire() {
    const EXPECTED: &str = "../../fixtures/testbed/run3_attack.resolver_auth.rrsets.jsonl.gz";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(EXPECTED);
    let file = std::fs::File::open(&path)
        .unwrap_or_else(|e| panic!("testbed expected file {} is missing: {e}", path.display()));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .expect("the fixture decompresses");
    let mut checked = 0usize;
    let mut types = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let rrtype = v["rrtype"].as_str().expect("rrtype");
        let rtype = type_from_name(rrtype).unwrap_or_else(|| panic!("unknown type {rrtype}"));
        let rdata = v["rdata"].as_array().expect("rdata list");
        let hexes = v["rdata_hex"].as_array().expect("rdata_hex list");
        assert_eq!(rdata.len(), hexes.len());
        for (text, want) in rdata.iter().zip(hexes) {
            let text = text.as_str().expect("rdata string");
            let want = want.as_str().expect("hex string");
            let got = rdata_from_text(rtype, text).map(|w| to_hex(&w));
            if got.as_deref() != Ok(want) {
                failures.push(format!("{rrtype} {text:?}: want {want}, got {got:?}"));
            }
            types.insert(rrtype.to_string());
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
    assert!(types.len() >= 25, "only {} types: {types:?}", types.len());
}

#[test]
fn dnspython_vectors_scan_back() {
    const VECTORS: &str = include_str!("data/dnspython_vectors.tsv");
    let (mut from_dnspython, mut from_ours, mut not_canonical) = (0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    for line in VECTORS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut fields = line.splitn(3, '\t');
        let (Some(t), Some(wire_hex), Some(text)) = (fields.next(), fields.next(), fields.next())
        else {
            panic!("bad vector line {line:?}");
        };
        let rtype = type_from_name(t).expect("known type");
        let Some(wire) = canonical(rtype, &hex(wire_hex)) else {
            // Not an rdata the sensor keeps. dnspython refused it too, or printed it in the
            // generic form (it has no class for the type, e.g. a TA shorter than its fixed
            // fields); the scanner refuses that, since its output must be canonical.
            if text != "!" {
                assert!(text.starts_with("\\# "), "{line}");
                assert!(rdata_from_text(rtype, text).is_err(), "{line}");
                not_canonical += 1;
            }
            continue;
        };
        // Our own output (typed or generic) of every valid rdata scans back.
        from_ours += 1;
        failures.extend(round_trip(rtype, &wire));
        // What dnspython printed scans to the canonical wire (names lower-cased).
        if text != "!" {
            from_dnspython += 1;
            match rdata_from_text(rtype, text) {
                Ok(back) if back == wire || lossless_exception(rtype, &wire, &back) => {}
                got => failures.push(format!("{t} {text:?}: want {}, got {got:?}", to_hex(&wire))),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        from_dnspython > 1400 && from_ours > from_dnspython && not_canonical < 20,
        "{from_dnspython} dnspython texts, {from_ours} of ours, {not_canonical} not canonical"
    );
}

/// (type, text, canonical wire hex).
const VARIANTS: &[(&str, &str, &str)] = &[
    // Relative and upper-case names are taken as absolute and lower-cased.
    ("NS", "NS1.Example.COM", "036e7331076578616d706c6503636f6d00"),
    ("NS", "ns1.example.com.", "036e7331076578616d706c6503636f6d00"),
    ("MX", "10 Mail.Example.COM", "000a046d61696c076578616d706c6503636f6d00"),
    ("CNAME", r"a\.b.\067", "03612e62016300"),
    ("PTR", ".", "00"),
    // Numbers, addresses.
    ("A", "192.0.2.1", "c0000201"),
    ("AAAA", "2001:DB8::1", "20010db8000000000000000000000001"),
    ("AAAA", "2001:0db8:0000:0000:0000:0000:0000:0001", "20010db8000000000000000000000001"),
    ("AAAA", "::ffff:1.2.3.4", "00000000000000000000ffff01020304"),
    // SOA timers with BIND units.
    (
        "SOA",
        "ns.example. host.example. 1 1h 15m 1w 1d",
        "026e73076578616d706c650004686f7374076578616d706c65000000000100000e100000038400093a8000015180",
    ),
    // TXT: unquoted single words, mixed with quoted strings, empty strings.
    ("TXT", "v=spf1", "06763d73706631"),
    ("TXT", r#"hello "big world" x\032y"#, "0568656c6c6f0962696720776f726c6403782079"),
    ("TXT", r#""""#, "00"),
    ("SPF", r#""v=spf1 -all""#, "0b763d73706631202d616c6c"),
    ("HINFO", "cpu os", "03637075026f73"),
    ("CAA", "0 issue letsencrypt.org", "000569737375656c657473656e63727970742e6f7267"),
    ("CAA", r#"0 ISSUE "ca.example""#, "0005495353554563612e6578616d706c65"),
    // BIND splits base64 and hex into groups, upper-cases hex, may wrap in parentheses.
    ("DNSKEY", "257 3 15 AQ ID", "0101030f010203"),
    ("DNSKEY", "257 3 ED25519 ( AQID )", "0101030f010203"),
    (
        "DS",
        "12345 13 2 ABABABABABABABAB ABABABABABABABAB ABABABABABABABAB ABABABABABABABAB",
        "30390d02abababababababababababababababababababababababababababababababab",
    ),
    (
        "TLSA",
        "3 1 1 0C0C0C0C0C0C0C0C0C0C 0C0C0C0C0C0C0C0C0C0C\n 0C0C0C0C0C0C0C0C0C0C 0C0C",
        "0301010c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
    ),
    ("SSHFP", "1 1 12121212121212121212 12121212121212121212", "01011212121212121212121212121212121212121212"),
    ("OPENPGPKEY", "AQID BAU=", "0102030405"),
    ("OPENPGPKEY", "AQIDBAU", "0102030405"), // padding left out
    // RRSIG: epoch times, algorithm mnemonic, split signature.
    (
        "RRSIG",
        "A ECDSAP256SHA256 2 3600 2051222400 1735689600 17880 Example.COM. AQID BA==",
        "00010d0200000e107a432b806774858045d8076578616d706c6503636f6d0001020304",
    ),
    (
        "RRSIG",
        "a 13 2 1h 20350101000000 20250101000000 17880 example.com AQIDBA==",
        "00010d0200000e107a432b806774858045d8076578616d706c6503636f6d0001020304",
    ),
    // Type bitmaps: any case, TYPEnnn, any order, repeats.
    ("NSEC", "next.example. a TYPE2 rrsig A TYPE65280", "046e657874076578616d706c65000006600000000002ff0180"),
    ("NSEC", "next.example.", "046e657874076578616d706c6500"),
    ("CSYNC", "66 3 AAAA A NS", "000000420003000460000008"),
    // NSEC3: upper-case salt and base32hex.
    (
        "NSEC3",
        "1 0 10 AABBCC 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG",
        "0100000a03aabbcc14174eb2409fe28bcb4887a1836f957f0a8425e27b0006400000000002",
    ),
    ("NSEC3PARAM", "1 0 0 -", "0100000000"),
    // SVCB values unquoted, keys in any order and case, mandatory list sorted.
    (
        "SVCB",
        r"1 . port=443 alpn=h2,h3 mandatory=port,alpn no-default-alpn ipv4hint=192.0.2.1 ech=AAQBAgME ipv6hint=2001:db8::1 dohpath=/q{?dns} key65000=x",
        "000100000000040001000300010006026832026833000200000003000201bb00040004c0000201000500060004010203040006001020010db8000000000000000000000001000700082f717b3f646e737dfde8000178",
    ),
    (
        "SVCB",
        r#"1 . mandatory="alpn,port" alpn="h2,h3" no-default-alpn port="443" ipv4hint="192.0.2.1" ech="AAQBAgME" ipv6hint="2001:db8::1" dohpath="/q{?dns}" key65000="x""#,
        "000100000000040001000300010006026832026833000200000003000201bb00040004c0000201000500060004010203040006001020010db8000000000000000000000001000700082f717b3f646e737dfde8000178",
    ),
    ("HTTPS", r#"1 net alpn="a\\,b,\\\\x2""#, "0001036e6574000001000803612c62035c7832"),
    ("HTTPS", r"1 net. alpn=a\\,b,\\\\x2", "0001036e6574000001000803612c62035c7832"),
    ("HTTPS", "1 . NO_DEFAULT_ALPN ALPN=h3 KEY3=53", "0001000001000302683300020000000300020035"),
    ("HTTPS", "0 svc.example.com", "000003737663076578616d706c6503636f6d00"),
    // LOC as dnspython and BIND print it, and with the optional parts left out.
    ("LOC", "51 30 12.748 N 0 7 39.612 W 0.00m", "001216138b0d2c8c7ff8fca400989680"),
    ("LOC", "51 30 12.748 n 0 7 39.612 w 0m 1m 10000m 10m", "001216138b0d2c8c7ff8fca400989680"),
    ("LOC", "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000.00m 10.00m", "000016138b3cf018810cbce0009895b8"),
    ("LOC", "52 22 23 N 4 53 32 E -2 0 10000 10", "000016138b3cf018810cbce0009895b8"),
    ("LOC", "0 N 0 E 0m", "00121613800000008000000000989680"),
    ("LOC", "90 S 180 W 0.5m", "001216136cb0270059604e00009896b2"),
    // CERT with numbers instead of mnemonics; EUI with upper case; WKS protocol by name.
    ("CERT", "1 2 8 AQID", "0001000208010203"),
    ("EUI48", "00-00-5E-00-53-2A", "00005e00532a"),
    ("EUI64", "00:00:5e:ef:10:00:00:2a", "00005eef1000002a"),
    ("WKS", "10.0.0.1 tcp 80 25", "0a000001060000004000000000000080"),
    ("APL", "1:192.168.32.0/21 !1:192.168.38.0/28 2:2001:db8::/32", "00011503c0a82000011c83c0a8260002200420010db8"),
    ("NSAP", "0x47.0005.80.005a00.0000.0001.e133.ffffff000161.00", "47000580005a0000000001e133ffffff00016100"),
    ("ISDN", r#""150862028003217" """#, "0f313530383632303238303033323137"),
    ("DSYNC", "cds 1 5359 cds-scanner.example.net", "003b0114ef0b6364732d7363616e6e6572076578616d706c65036e657400"),
    // The RFC 3597 generic form, for any type, names lower-cased, hex split or upper case.
    ("A", r"\# 4 C0000201", "c0000201"),
    ("A", r"\# 4 c000 0201", "c0000201"),
    ("NS", r"\# 5 0141016200", "0161016200"),
    ("NULL", r"\# 0", ""),
    ("NULL", r"\# 3 010203", "010203"),
    ("TYPE65280", r"\# 2 ffee", "ffee"),
    ("TA", r"\# 5 3039080201", "3039080201"),
    ("DS", r"\# 5 3039080201", "3039080201"), // digest too short for dnspython, kept
];

#[test]
fn variants_other_producers_print() {
    let mut failures = Vec::new();
    for (t, text, want) in VARIANTS {
        let rtype = type_from_name(t).unwrap_or_else(|| panic!("type {t}"));
        let got = rdata_from_text(rtype, text).map(|w| to_hex(&w));
        if got.as_deref() != Ok(*want) {
            failures.push(format!("{t} {text:?}: want {want}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(VARIANTS.len() >= 59);
}

#[test]
fn hostile_text_is_err() {
    let long_label = format!("{}.example.", "a".repeat(64));
    let long_name = format!("{}.", vec!["a".repeat(63); 5].join("."));
    let long_string = format!("\"{}\"", "x".repeat(256));
    let many_types = vec!["A"; 100_000].join(" ");
    let cases: Vec<(&str, &str)> = vec![
        ("TXT", r#""abc"#),
        ("TXT", r#""abc\""#),
        ("TXT", r#"abc\"#),
        ("TXT", &long_string),
        ("TXT", ""),
        ("TXT", r#""\256""#),
        ("TXT", r#""\25""#),
        ("TXT", "( \"a\""),
        ("TXT", "\"a\" )"),
        ("NS", &long_label),
        ("NS", &long_name),
        ("NS", "a..b."),
        ("NS", "é.example."),
        ("NS", r"a\256.example."),
        ("NS", "\"quoted.name.\""),
        ("NS", ""),
        ("NS", "a. b."),
        ("A", "1.2.3"),
        ("A", "01.2.3.4"),
        ("A", "256.1.1.1"),
        ("A", "1.2.3.4 5"),
        ("A", "::1"),
        ("AAAA", "1.2.3.4"),
        ("AAAA", "2001:db8::1::2"),
        ("MX", "65536 mx.example."),
        ("MX", "99999999999999999999999999999 mx.example."),
        ("MX", "-1 mx.example."),
        ("MX", "+1 mx.example."),
        ("MX", "10"),
        ("SOA", "a. b. 1 2 3 4 99999999999"),
        ("SOA", "a. b. 1 2 3 4 5x"),
        ("SOA", "a. b. 1 2 3 4 h"),
        ("DNSKEY", "257 3 8 AwE!"),
        ("DNSKEY", "257 3 8 AR=="), // non-zero trailing bits
        ("DNSKEY", "257 3 8 A"),
        ("DNSKEY", "257 3 BOGUS AQID"),
        ("DNSKEY", "257 3 256 AQID"),
        ("DS", "12345 13 2 abc"),
        ("DS", "12345 13 2 zz"),
        ("DS", "12345 13 2 abab"), // SHA-256 digest too short
        ("DS", "12345 13 0 ab"),   // digest type 0
        ("TLSA", "3 1 1 0c0c"),
        ("NSEC3", "1 0 10 aabbcc 2t7b4g4vsa5smi47k61mv5bv1a22boj A"), // bad base32 length
        ("NSEC3", "1 0 10 aabbcc 2w A"),                              // not base32hex
        ("NSEC3", "1 0 10 aabbcc 2v A"),                              // trailing bits
        ("NSEC", "next. A BOGUS"),
        ("NSEC", "next. TYPE65536"),
        (
            "RRSIG",
            "A 13 2 3600 20250230000000 20250101000000 1 example. AQID",
        ),
        (
            "RRSIG",
            "A 13 2 3600 21070101000000 20250101000000 1 example. AQID",
        ),
        (
            "RRSIG",
            "A 13 2 3600 99999999999 20250101000000 1 example. AQID",
        ),
        (
            "RRSIG",
            "A 13 2 3600 2025010100000 20250101000000 1 example. AQID",
        ),
        ("SVCB", "1 . alpn="),
        ("SVCB", "1 . alpn= \"h2\""),
        ("SVCB", "1 . =h2"),
        ("SVCB", "1 . \"alpn\""),
        ("SVCB", "1 . port=1 port=2"),
        ("SVCB", "1 . port=65536"),
        ("SVCB", "1 . key65536=x"),
        ("SVCB", "1 . bogus=x"),
        ("SVCB", "1 . alpn=h2,,h3"),
        ("SVCB", "1 . mandatory=port"), // port missing
        ("SVCB", "1 . no-default-alpn"),
        ("SVCB", r"1 . ech=AA\065A"),
        ("SVCB", "0 . port=53"), // parameters in AliasMode
        ("SVCB", "1 . ipv4hint=1.2.3.4,::1"),
        ("CAA", "0 is-sue x"),
        ("CAA", "0 issue a b"),
        ("URI", "10 1 \"\""),
        ("LOC", "91 N 0 E 0m"),
        ("LOC", "90 1 N 0 E 0m"),
        ("LOC", "0 60 N 0 E 0m"),
        ("LOC", "0 0 1.2345 N 0 E 0m"),
        ("LOC", "0 X 0 E 0m"),
        ("LOC", "0 N 0 E 0m 100000000000m"),
        ("LOC", "0 N 0 E 99999999999m"),
        ("LOC", "0 N 0 E 0m -1m"),
        ("LOC", "0 N 0 E"),
        ("APL", "1:1.2.3.4/33"),
        ("APL", "1:1.2.3.4"),
        ("APL", "3:abc/8"),
        ("WKS", "1.2.3.4 6 65536"),
        ("WKS", "1.2.3.4 ftp 21"),
        ("IPSECKEY", "10 0 2 gw.example. AQID"),
        ("IPSECKEY", "10 4 2 . AQID"),
        ("AMTRELAY", "10 2 1 1.2.3.4"),
        ("AMTRELAY", "10 0 128 ."),
        ("EUI48", "00-00-5e-00-53"),
        ("EUI48", "00-00-5e-00-53-2"),
        ("L64", "10 2001:db8:1140:1000"),
        ("NSAP", "47000580"),
        ("CERT", "BOGUS 1 8 AQID"),
        ("NULL", "abc"),
        ("TYPE65280", "abc"),
        ("A", r"\# 3 c00002"),
        ("A", r"\# 4 c00002"),
        ("A", r"\# 4 c0000201ff"),
        ("A", r"\# x c0000201"),
        ("A", r"\# 99999 00"),
        ("NS", r"\# 2 c000"), // a compression pointer
        ("MX", r"\# 6 000a01610000"),
    ];
    let mut failures = Vec::new();
    for (t, text) in &cases {
        let rtype = type_from_name(t).unwrap_or_else(|| panic!("type {t}"));
        let got = rdata_from_text(rtype, text);
        if got.is_ok() {
            failures.push(format!("{t} {:?}: {got:?}", &text[..text.len().min(80)]));
        }
    }
    assert!(failures.is_empty(), "accepted:\n{}", failures.join("\n"));
    assert!(cases.len() >= 100);
    // 100 000 mnemonics of one type make a one-byte bitmap.
    let nsec = rdata_from_text(rtype::NSEC, &format!("next. {many_types}")).unwrap();
    assert_eq!(nsec, hex("046e65787400000140"));
    // Errors say what was wrong.
    assert_eq!(
        rdata_from_text(rtype::TXT, "\"abc"),
        Err(WireError::BadText("unterminated quoted string"))
    );
    assert_eq!(
        rdata_from_text(rtype::NS, &long_label),
        Err(WireError::LabelTooLong)
    );
    assert_eq!(
        rdata_from_text(rtype::DS, "12345 13 2 abab"),
        Err(WireError::BadRdata { rtype: rtype::DS })
    );
    // A pointer back into the rdata itself would even resolve: still refused.
    assert_eq!(
        rdata_from_text(rtype::MX, r"\# 6 000a0161c000"),
        Err(WireError::UnexpectedPointer)
    );
}

// ---------------------------------------------------------------------------------------
// Property loop: deterministic pseudo-random well-formed rdata of every type.

/// SplitMix64: small, deterministic, good enough to spread cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below((hi - lo + 1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn u8(&mut self) -> u8 {
        self.next() as u8
    }
    fn bytes(&mut self, lo: usize, hi: usize) -> Vec<u8> {
        let n = self.range(lo, hi);
        (0..n).map(|_| self.u8()).collect()
    }
    /// Bytes biased towards the characters presentation text treats specially.
    fn text_bytes(&mut self, lo: usize, hi: usize) -> Vec<u8> {
        const SPECIAL: &[u8] = b" \"\\().;@$,=\t\n\x00\x7f\xff";
        let n = self.range(lo, hi);
        (0..n)
            .map(|_| match self.below(4) {
                0 => SPECIAL[self.below(SPECIAL.len() as u64) as usize],
                1 => self.u8(),
                _ => b'a' + self.below(26) as u8,
            })
            .collect()
    }
}

fn gen_name(rng: &mut Rng, out: &mut Vec<u8>) {
    let start = out.len();
    for _ in 0..rng.range(0, 4) {
        let label = if rng.chance(80) {
            let n = rng.range(1, 20);
            (0..n)
                .map(|_| b"abcdefghijklmnopqrstuvwxyz0123456789-_"[rng.below(38) as usize])
                .collect()
        } else {
            rng.text_bytes(1, 63)
        };
        if out.len() - start + label.len() + 2 > 255 {
            break;
        }
        out.push(label.len() as u8);
        out.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    out.push(0);
}

fn gen_string(rng: &mut Rng, out: &mut Vec<u8>, lo: usize, hi: usize) {
    let s = rng.text_bytes(lo, hi);
    out.push(s.len() as u8);
    out.extend_from_slice(&s);
}

/// An RFC 4034 4.1.2 bitmap of a few random types (written independently of the crate).
fn gen_bitmap(rng: &mut Rng, out: &mut Vec<u8>) {
    let mut types: Vec<u16> = (0..rng.range(0, 8))
        .map(|_| match rng.below(3) {
            0 => rng.below(64) as u16,
            1 => rng.below(300) as u16,
            _ => rng.next() as u16,
        })
        .collect();
    types.sort_unstable();
    types.dedup();
    let mut i = 0;
    while i < types.len() {
        let window = types[i] >> 8;
        let mut bits = [0u8; 32];
        let mut len = 0;
        while i < types.len() && types[i] >> 8 == window {
            let low = (types[i] & 0xff) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            len = low / 8 + 1;
            i += 1;
        }
        out.push(window as u8);
        out.push(len as u8);
        out.extend_from_slice(&bits[..len]);
    }
}

fn gen_gateway(rng: &mut Rng, gtype: u8, out: &mut Vec<u8>) {
    match gtype {
        1 => out.extend(rng.bytes(4, 4)),
        2 => out.extend(rng.bytes(16, 16)),
        3 => gen_name(rng, out),
        _ => {}
    }
}

fn gen_ids(rng: &mut Rng, out: &mut Vec<u8>) {
    for _ in 0..rng.range(1, 3) {
        gen_string(rng, out, 1, 8);
    }
}

fn gen_svcb(rng: &mut Rng, out: &mut Vec<u8>) {
    let priority = if rng.chance(20) {
        0
    } else {
        rng.range(1, 65535) as u16
    };
    out.extend(priority.to_be_bytes());
    gen_name(rng, out);
    if priority == 0 {
        return;
    }
    let mut params: Vec<(u16, Vec<u8>)> = Vec::new();
    let with_alpn = rng.chance(50);
    for key in 1u16..=10 {
        let wanted = (key == 1 && with_alpn) || rng.chance(40);
        if key == 9 || !wanted {
            continue;
        }
        let mut v = Vec::new();
        match key {
            1 => gen_ids(rng, &mut v),
            2 if !with_alpn => continue,
            3 => v.extend(rng.bytes(2, 2)),
            4 => v.extend(rng.bytes(4, 4).repeat(rng.range(1, 3))),
            5 => {
                let inner = rng.bytes(4, 20);
                v.extend((inner.len() as u16).to_be_bytes());
                v.extend(inner);
            }
            6 => v.extend(rng.bytes(16, 16).repeat(rng.range(1, 2))),
            7 => v.extend(rng.text_bytes(0, 12)),
            10 if rng.chance(80) => gen_ids(rng, &mut v),
            _ => {} // no-default-alpn, ohttp, an empty docpath
        }
        params.push((key, v));
    }
    for _ in 0..rng.range(0, 2) {
        let key = rng.range(11, 65535) as u16;
        if params.iter().all(|(k, _)| *k != key) {
            params.push((key, rng.text_bytes(0, 10)));
        }
    }
    params.sort_by_key(|p| p.0);
    if !params.is_empty() && rng.chance(30) {
        let keys: Vec<u16> = params
            .iter()
            .map(|p| p.0)
            .filter(|_| rng.chance(60))
            .collect();
        if !keys.is_empty() {
            params.insert(0, (0, keys.iter().flat_map(|k| k.to_be_bytes()).collect()));
        }
    }
    for (key, value) in params {
        out.extend(key.to_be_bytes());
        out.extend((value.len() as u16).to_be_bytes());
        out.extend(value);
    }
}

fn gen_loc(rng: &mut Rng, out: &mut Vec<u8>) {
    out.push(0);
    for _ in 0..3 {
        let size = if rng.chance(20) {
            0
        } else {
            (rng.range(1, 9) as u8) << 4 | rng.range(0, 9) as u8
        };
        out.push(size);
    }
    if rng.chance(30) {
        out[1..4].copy_from_slice(&[0x12, 0x16, 0x13]); // the defaults
    }
    let lat = (1u64 << 31) + rng.below(2 * 90 * 3_600_000 + 1) - 90 * 3_600_000;
    let long = (1u64 << 31) + rng.below(2 * 180 * 3_600_000 + 1) - 180 * 3_600_000;
    out.extend((lat as u32).to_be_bytes());
    out.extend((long as u32).to_be_bytes());
    out.extend((rng.next() as u32).to_be_bytes());
}

fn gen_apl(rng: &mut Rng, out: &mut Vec<u8>) {
    for _ in 0..rng.range(0, 3) {
        let family = [1u16, 2, rng.range(3, 65535) as u16][rng.below(3) as usize];
        let (max_len, max_prefix) = match family {
            1 => (4, 32),
            2 => (16, 128),
            _ => (127, 255),
        };
        let mut addr = rng.bytes(0, max_len.min(20));
        while addr.last() == Some(&0) {
            addr.pop();
        }
        out.extend(family.to_be_bytes());
        out.push(rng.range(0, max_prefix) as u8);
        out.push(addr.len() as u8 | if rng.chance(30) { 0x80 } else { 0 });
        out.extend(addr);
    }
}

fn gen_gpos(rng: &mut Rng, out: &mut Vec<u8>) {
    for limit in [90, 180, 100_000] {
        let int = rng.range(0, limit - 1);
        let sign = ["", "-", "+"][rng.below(3) as usize];
        let s = match rng.below(3) {
            0 => format!("{sign}{int}"),
            1 => format!("{sign}{int}.{}", rng.range(0, 9999)),
            _ => format!("{sign}{int}."),
        };
        out.push(s.len() as u8);
        out.extend(s.bytes());
    }
}

/// A well-formed rdata of `rtype` that `rdata_to_text` accepts.
fn gen_rdata(rng: &mut Rng, rtype: u16) -> Vec<u8> {
    let mut o = Vec::new();
    match rtype {
        rtype::A => o.extend(rng.bytes(4, 4)),
        rtype::AAAA => {
            for _ in 0..8 {
                let group = if rng.chance(50) {
                    [0, 0]
                } else {
                    [rng.u8(), rng.u8()]
                };
                o.extend(group);
            }
        }
        rtype::NS
        | rtype::CNAME
        | rtype::DNAME
        | rtype::PTR
        | rtype::MB
        | rtype::MG
        | rtype::MR
        | rtype::MD
        | rtype::MF
        | rtype::NSAP_PTR => gen_name(rng, &mut o),
        rtype::SOA => {
            gen_name(rng, &mut o);
            gen_name(rng, &mut o);
            o.extend(rng.bytes(20, 20));
        }
        rtype::MINFO | rtype::RP => {
            gen_name(rng, &mut o);
            gen_name(rng, &mut o);
        }
        rtype::MX | rtype::AFSDB | rtype::RT | rtype::KX | rtype::LP => {
            o.extend(rng.bytes(2, 2));
            gen_name(rng, &mut o);
        }
        rtype::PX => {
            o.extend(rng.bytes(2, 2));
            gen_name(rng, &mut o);
            gen_name(rng, &mut o);
        }
        rtype::SRV => {
            o.extend(rng.bytes(6, 6));
            gen_name(rng, &mut o);
        }
        rtype::NAPTR => {
            o.extend(rng.bytes(4, 4));
            for _ in 0..3 {
                gen_string(rng, &mut o, 0, 30);
            }
            gen_name(rng, &mut o);
        }
        rtype::TXT | rtype::SPF | rtype::AVC | rtype::NINFO | rtype::RESINFO | rtype::WALLET => {
            for _ in 0..rng.range(1, 4) {
                let hi = if rng.chance(5) { 255 } else { 40 };
                gen_string(rng, &mut o, 0, hi);
            }
        }
        rtype::HINFO => {
            gen_string(rng, &mut o, 0, 20);
            gen_string(rng, &mut o, 0, 20);
        }
        rtype::X25 => gen_string(rng, &mut o, 0, 20),
        rtype::ISDN => {
            gen_string(rng, &mut o, 0, 20);
            if rng.chance(50) {
                gen_string(rng, &mut o, 1, 20);
            }
        }
        rtype::GPOS => gen_gpos(rng, &mut o),
        rtype::CAA => {
            o.push(rng.u8());
            let tag: Vec<u8> = (0..rng.range(1, 15))
                .map(|_| b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.below(36) as usize])
                .collect();
            o.push(tag.len() as u8);
            o.extend(tag);
            o.extend(rng.text_bytes(0, 40));
        }
        rtype::URI => {
            o.extend(rng.bytes(4, 4));
            o.extend(rng.text_bytes(1, 40));
        }
        rtype::LOC => gen_loc(rng, &mut o),
        rtype::DS | rtype::CDS | rtype::DLV => {
            o.extend(rng.bytes(3, 3));
            let (dtype, len) = match rng.below(6) {
                0 => (1, 20),
                1 => (2, 32),
                2 => (3, 32),
                3 => (4, 48),
                4 if rtype == rtype::CDS => (0, 1),
                _ => (rng.range(5, 255) as u8, rng.range(0, 70)),
            };
            o.push(dtype);
            o.extend(rng.bytes(len, len));
        }
        rtype::DNSKEY | rtype::CDNSKEY | rtype::KEY => o.extend(rng.bytes(4, 120)),
        rtype::RRSIG | rtype::SIG => {
            o.extend(rng.bytes(18, 18));
            gen_name(rng, &mut o);
            o.extend(rng.bytes(0, 100));
        }
        rtype::NSEC => {
            gen_name(rng, &mut o);
            gen_bitmap(rng, &mut o);
        }
        rtype::NSEC3 | rtype::NSEC3PARAM => {
            o.extend(rng.bytes(4, 4));
            let salt = rng.bytes(0, 12);
            o.push(salt.len() as u8);
            o.extend(salt);
            if rtype == rtype::NSEC3 {
                let next = rng.bytes(1, 32);
                o.push(next.len() as u8);
                o.extend(next);
                gen_bitmap(rng, &mut o);
            }
        }
        rtype::CSYNC => {
            o.extend(rng.bytes(6, 6));
            gen_bitmap(rng, &mut o);
        }
        rtype::ZONEMD => {
            o.extend(rng.bytes(4, 4));
            o.push(rng.range(1, 255) as u8);
            let (alg, len) = match rng.below(3) {
                0 => (1, 48),
                1 => (2, 64),
                _ => (rng.range(3, 255) as u8, rng.range(12, 80)),
            };
            o.push(alg);
            o.extend(rng.bytes(len, len));
        }
        rtype::TLSA | rtype::SMIMEA => {
            o.extend(rng.bytes(2, 2));
            let (mtype, len) = match rng.below(3) {
                0 => (1, 32),
                1 => (2, 64),
                _ => (rng.range(3, 255) as u8, rng.range(0, 70)),
            };
            o.push(mtype);
            o.extend(rng.bytes(len, len));
        }
        rtype::SSHFP => {
            o.push(rng.u8());
            let (fp_type, len) = match rng.below(3) {
                0 => (1, 20),
                1 => (2, 32),
                _ => (rng.range(3, 255) as u8, rng.range(0, 40)),
            };
            o.push(fp_type);
            o.extend(rng.bytes(len, len));
        }
        rtype::OPENPGPKEY | rtype::DHCID | rtype::HHIT | rtype::BRID => o.extend(rng.bytes(0, 80)),
        rtype::CERT => {
            let ctype = [1u16, 3, 253, 9, rng.next() as u16][rng.below(5) as usize];
            o.extend(ctype.to_be_bytes());
            o.extend(rng.bytes(3, 3));
            o.extend(rng.bytes(0, 60));
        }
        rtype::SVCB | rtype::HTTPS => gen_svcb(rng, &mut o),
        rtype::EUI48 => o.extend(rng.bytes(6, 6)),
        rtype::EUI64 => o.extend(rng.bytes(8, 8)),
        rtype::L32 => o.extend(rng.bytes(6, 6)),
        rtype::L64 | rtype::NID => o.extend(rng.bytes(10, 10)),
        rtype::NSAP => o.extend(rng.bytes(0, 30)),
        rtype::WKS => {
            o.extend(rng.bytes(5, 5));
            let mut bitmap = rng.bytes(0, 40);
            while bitmap.last() == Some(&0) {
                bitmap.pop();
            }
            o.extend(bitmap);
        }
        rtype::APL => gen_apl(rng, &mut o),
        rtype::IPSECKEY => {
            let gtype = rng.below(4) as u8;
            o.extend([rng.u8(), gtype, rng.u8()]);
            gen_gateway(rng, gtype, &mut o);
            o.extend(rng.bytes(0, 40));
        }
        rtype::AMTRELAY => {
            let rtype_ = rng.below(4) as u8;
            o.extend([rng.u8(), rtype_ | if rng.chance(50) { 0x80 } else { 0 }]);
            gen_gateway(rng, rtype_, &mut o);
        }
        rtype::HIP => {
            let hit = rng.bytes(1, 20);
            let min_key = usize::from(!rng.chance(10));
            let key = rng.bytes(min_key, 60);
            o.push(hit.len() as u8);
            o.push(rng.u8());
            o.extend((key.len() as u16).to_be_bytes());
            o.extend(hit);
            o.extend(key);
            for _ in 0..rng.range(0, 2) {
                gen_name(rng, &mut o);
            }
        }
        rtype::DSYNC => {
            o.extend(rng.bytes(5, 5));
            gen_name(rng, &mut o);
        }
        rtype::TA => o.extend(rng.bytes(4, 40)),
        _ => o.extend(rng.bytes(0, 40)), // generic-only types
    }
    o
}

/// Every type the formatter knows, and a few it prints in the generic form.
const ALL_TYPES: &[u16] = &[
    rtype::A,
    rtype::AAAA,
    rtype::NS,
    rtype::CNAME,
    rtype::DNAME,
    rtype::PTR,
    rtype::MB,
    rtype::MG,
    rtype::MR,
    rtype::MD,
    rtype::MF,
    rtype::NSAP_PTR,
    rtype::SOA,
    rtype::MINFO,
    rtype::RP,
    rtype::MX,
    rtype::AFSDB,
    rtype::RT,
    rtype::KX,
    rtype::LP,
    rtype::PX,
    rtype::SRV,
    rtype::NAPTR,
    rtype::TXT,
    rtype::SPF,
    rtype::AVC,
    rtype::NINFO,
    rtype::RESINFO,
    rtype::WALLET,
    rtype::HINFO,
    rtype::X25,
    rtype::ISDN,
    rtype::GPOS,
    rtype::CAA,
    rtype::URI,
    rtype::LOC,
    rtype::DS,
    rtype::CDS,
    rtype::DLV,
    rtype::DNSKEY,
    rtype::CDNSKEY,
    rtype::KEY,
    rtype::RRSIG,
    rtype::SIG,
    rtype::NSEC,
    rtype::NSEC3,
    rtype::NSEC3PARAM,
    rtype::CSYNC,
    rtype::ZONEMD,
    rtype::TLSA,
    rtype::SMIMEA,
    rtype::SSHFP,
    rtype::OPENPGPKEY,
    rtype::DHCID,
    rtype::HHIT,
    rtype::BRID,
    rtype::CERT,
    rtype::SVCB,
    rtype::HTTPS,
    rtype::EUI48,
    rtype::EUI64,
    rtype::L32,
    rtype::L64,
    rtype::NID,
    rtype::NSAP,
    rtype::WKS,
    rtype::APL,
    rtype::IPSECKEY,
    rtype::AMTRELAY,
    rtype::HIP,
    rtype::DSYNC,
    rtype::TA,
    rtype::NULL,
    rtype::UNSPEC,
    65280,
];

#[test]
fn property_format_then_scan_is_identity() {
    let mut rng = Rng(0x5eed_d15c_0ffe_e000);
    let mut checked = 0usize;
    let mut failures = Vec::new();
    for round in 0..60 {
        for &t in ALL_TYPES {
            let wire = gen_rdata(&mut rng, t);
            assert_eq!(
                canonical(t, &wire).as_deref(),
                Some(&wire[..]),
                "generator made a non-canonical {} {}",
                type_name(t),
                to_hex(&wire)
            );
            assert!(
                rdata_to_text(t, &wire).is_ok(),
                "generator made an rdata the formatter refuses: {} {} (round {round})",
                type_name(t),
                to_hex(&wire)
            );
            failures.extend(round_trip(t, &wire));
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 4000, "{checked}");
}

/// Random bytes: whenever one is a canonical rdata, its text (typed or generic) scans back.
#[test]
fn property_random_bytes_round_trip() {
    let mut rng = Rng(42);
    let (mut typed, mut generic) = (0usize, 0usize);
    let mut failures = Vec::new();
    for _ in 0..100 {
        for &t in ALL_TYPES {
            let wire = rng.bytes(0, 40);
            if canonical(t, &wire).as_deref() != Some(&wire[..]) {
                continue;
            }
            if rdata_to_text(t, &wire).is_ok_and(|s| !s.starts_with("\\#")) {
                typed += 1;
            } else {
                generic += 1;
            }
            failures.extend(round_trip(t, &wire));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        typed > 300 && generic > 300,
        "{typed} typed, {generic} generic"
    );
}

/// Mutated texts never panic; whatever scans is canonical and stable: it formats and
/// scans back to itself.
#[test]
fn property_mutated_text_never_panics() {
    const INSERTS: &[&str] = &[
        " ",
        "\"",
        "\\",
        "(",
        ")",
        "=",
        ",",
        ".",
        "0",
        "9",
        "a",
        "Z",
        "é",
        "\\0",
        "-",
        "\\#",
        "99999999999",
        "..",
        "\t",
        "m",
        "N",
    ];
    let mut rng = Rng(7);
    let (mut ok, mut err) = (0usize, 0usize);
    for _ in 0..40 {
        for &t in ALL_TYPES {
            let wire = gen_rdata(&mut rng, t);
            let mut text = String::new();
            push_rdata_text(&mut text, t, &wire);
            for _ in 0..4 {
                let mut chars: Vec<char> = text.chars().collect();
                for _ in 0..rng.range(1, 3) {
                    let at = rng.range(0, chars.len());
                    match rng.below(3) {
                        0 if at < chars.len() => {
                            chars.remove(at);
                        }
                        1 => chars.truncate(at),
                        _ => {
                            let ins = INSERTS[rng.below(INSERTS.len() as u64) as usize];
                            for (i, c) in ins.chars().enumerate() {
                                chars.insert(at + i, c);
                            }
                        }
                    }
                }
                let mutated: String = chars.into_iter().collect();
                match rdata_from_text(t, &mutated) {
                    Ok(w) => {
                        ok += 1;
                        assert_eq!(
                            canonical(t, &w).as_deref(),
                            Some(&w[..]),
                            "{} {mutated:?} scanned to a non-canonical rdata",
                            type_name(t)
                        );
                        assert_eq!(round_trip(t, &w), None, "from {mutated:?}");
                    }
                    Err(_) => err += 1,
                }
            }
        }
    }
    assert!(ok > 1000 && err > 1000, "{ok} accepted, {err} refused");
}
