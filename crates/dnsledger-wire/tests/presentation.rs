//! Presentation text of every formatted type, checked against strings dnspython 2.9
//! printed for the same canonical wire (generated once with dnspython's from_text ->
//! to_digestable -> from_wire -> to_text(chunksize=0)), plus the types dnspython has no
//! class for, and the generic fallback.

use dnsledger_wire::{rdata_generic, rdata_to_text, type_from_name, WireError};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Formats `wire_hex` as type `t` and compares with `want`.
fn check(t: &str, wire_hex: &str, want: &str) {
    let rtype = type_from_name(t).unwrap_or_else(|| panic!("type {t}"));
    assert_eq!(
        rdata_to_text(rtype, &hex(wire_hex)).as_deref(),
        Ok(want),
        "{t} {wire_hex}"
    );
}

#[test]
fn every_type_like_dnspython() {
    let cases: &[(&str, &str, &str)] = &[
        ("A", "c0000201", r#"192.0.2.1"#),
        ("AAAA", "20010db8000000000000000000000001", r#"2001:db8::1"#),
        ("AAAA", "00000000000000000000ffff01020304", r#"::ffff:1.2.3.4"#),
        ("NS", "036e7331076578616d706c6503636f6d00", r#"ns1.example.com."#),
        ("CNAME", "03777777076578616d706c6503636f6d00", r#"www.example.com."#),
        ("DNAME", "076578616d706c65036e657400", r#"example.net."#),
        ("PTR", "04686f7374076578616d706c6500", r#"host.example."#),
        ("SOA", "026e73076578616d706c6503636f6d000a686f73746d6173746572076578616d706c6503636f6d0078b333b500001c2000000e10001275000000012c", r#"ns.example.com. hostmaster.example.com. 2025010101 7200 3600 1209600 300"#),
        ("MX", "000a046d61696c076578616d706c6503636f6d00", r#"10 mail.example.com."#),
        ("TXT", "0b763d73706631202d616c6c067365636f6e64", r#""v=spf1 -all" "second""#),
        ("TXT", "00", r#""""#),
        ("TXT", "1871756f746522206261636b5c736c61736820ff2074616209", r#""quote\" back\\slash \255 tab\009""#),
        ("SPF", "0b763d73706631202d616c6c", r#""v=spf1 -all""#),
        ("SRV", "0000000513c403736970076578616d706c6503636f6d00", r#"0 5 5060 sip.example.com."#),
        ("NAPTR", "0064000a0155074532552b7369701b215e2e2a24217369703a696e666f406578616d706c652e636f6d2100", r#"100 10 "U" "E2U+sip" "!^.*$!sip:info@example.com!" ."#),
        ("CAA", "000569737375656c657473656e63727970742e6f7267", r#"0 issue "letsencrypt.org""#),
        ("CAA", "8005696f6465666d61696c746f3a78406578616d706c652e636f6d", r#"128 iodef "mailto:x@example.com""#),
        ("HINFO", "03637075026f73", r#""cpu" "os""#),
        ("RP", "0561646d696e076578616d706c6503636f6d0003747874076578616d706c6503636f6d00", r#"admin.example.com. txt.example.com."#),
        ("AFSDB", "000103616673076578616d706c6503636f6d00", r#"1 afs.example.com."#),
        ("LOC", "001216138b0d2c8c7ff8fca400989680", r#"51 30 12.748 N 0 7 39.612 W 0.00m"#),
        ("LOC", "001216138b0d2c8c7ff8fca400989680", r#"51 30 12.748 N 0 7 39.612 W 0.00m"#),
        ("URI", "000a000168747470733a2f2f6578616d706c652e636f6d2f", r#"10 1 "https://example.com/""#),
        ("DS", "30390d02abababababababababababababababababababababababababababababababab", r#"12345 13 2 abababababababababababababababababababababababababababababababab"#),
        ("CDS", "0000000000", r#"0 0 0 00"#),
        ("DNSKEY", "0101030f010203", r#"257 3 15 AQID"#),
        ("CDNSKEY", "0000030000", r#"0 3 0 AA=="#),
        ("RRSIG", "00010f0200000e107a432b806774858045d8076578616d706c6503636f6d0001020304", r#"A 15 2 3600 20350101000000 20250101000000 17880 example.com. AQIDBA=="#),
        ("NSEC", "046e657874076578616d706c6500000762000000000380ff0180", r#"next.example. A NS SOA RRSIG NSEC DNSKEY TYPE65280"#),
        ("NSEC3", "0100000a03aabbcc14174eb2409fe28bcb4887a1836f957f0a8425e27b0006400000000002", r#"1 0 10 aabbcc 2t7b4g4vsa5smi47k61mv5bv1a22bojr A RRSIG"#),
        ("NSEC3PARAM", "0100000000", r#"1 0 0 -"#),
        ("TLSA", "0301010c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", r#"3 1 1 0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"#),
        ("SMIMEA", "030000deadbeef", r#"3 0 0 deadbeef"#),
        ("SSHFP", "01011212121212121212121212121212121212121212", r#"1 1 1212121212121212121212121212121212121212"#),
        ("OPENPGPKEY", "0102030405", r#"AQIDBAU="#),
        ("SVCB", "000100000000040001000300010006026832026833000200000003000201bb00040004c0000201000500060004010203040006001020010db8000000000000000000000001000700082f717b3f646e737dfde8000178", r#"1 . mandatory="alpn,port" alpn="h2,h3" no-default-alpn port="443" ipv4hint="192.0.2.1" ech="AAQBAgME" ipv6hint="2001:db8::1" dohpath="/q{?dns}" key65000="x""#),
        ("HTTPS", "000003737663076578616d706c6503636f6d00", r#"0 svc.example.com."#),
        ("CSYNC", "000000420003000460000008", r#"66 3 A NS AAAA"#),
        ("ZONEMD", "000007e90101abababababababababababababababababababababababababababababababababababababababababababababababab", r#"2025 1 1 abababababababababababababababababababababababababababababababababababababababababababababababab"#),
        ("KX", "000a026b78076578616d706c6503636f6d00", r#"10 kx.example.com."#),
        ("CERT", "0003000000010203", r#"PGP 0 0 AQID"#),
        ("CERT", "0001000208010203", r#"PKIX 2 RSASHA256 AQID"#),
        ("APL", "00011503c0a82000011c83c0a8260002200420010db8", r#"1:192.168.32.0/21 !1:192.168.38.0/28 2:2001:db8::/32"#),
        ("EUI48", "00005e00532a", r#"00-00-5e-00-53-2a"#),
        ("EUI64", "00005eef1000002a", r#"00-00-5e-ef-10-00-00-2a"#),
        ("IPSECKEY", "0a0102c0000226010351537986ed35533b6064478eeeb27b5bd74dae149b6e81ba3a0521af82ab7801", r#"10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ=="#),
        ("IPSECKEY", "0a0302026777076578616d706c6503636f6d00010203", r#"10 3 2 gw.example.com. AQID"#),
        ("IPSECKEY", "0a0002010203", r#"10 0 2 . AQID"#),
        ("AMTRELAY", "0a8309616d7472656c617973076578616d706c6503636f6d00", r#"10 1 3 amtrelays.example.com."#),
        ("HIP", "10020084200100107b1a74df365639cc39f1d57803010001b771ca136e4aeb5ce44333c53b3d2c13c22243851fc708bcce29f7e2eb5787b5f56ccad34f8223acc10904ddb56b2ec4a6d6232f3b50ea094f0914b3b941bbe529af582c36bbadefdaf2adaf9b4911906f5b2522603c615272b880ec8fb930cc6ee39c444daa75b1678f005a4b2499d1da5433f805c7a5ad3237acc5dd5c5e4303727673076578616d706c6503636f6d00", r#"2 200100107b1a74df365639cc39f1d578 AwEAAbdxyhNuSutc5EMzxTs9LBPCIkOFH8cIvM4p9+LrV4e19WzK00+CI6zBCQTdtWsuxKbWIy87UOoJTwkUs7lBu+Upr1gsNrut79ryra+bSRGQb1slImA8YVJyuIDsj7kwzG7jnERNqnWxZ48AWkskmdHaVDP4BcelrTI3rMXdXF5D rvs.example.com."#),
        ("WKS", "0a000001060000004000000000000080", r#"10.0.0.1 6 25 80"#),
        ("L32", "000a0a010200", r#"10 10.1.2.0"#),
        ("L64", "000a20010db811401000", r#"10 2001:0db8:1140:1000"#),
        ("NID", "000a00144fffff20ee64", r#"10 0014:4fff:ff20:ee64"#),
        ("LP", "000a0a6c36342d7375626e6574076578616d706c6503636f6d00", r#"10 l64-subnet.example.com."#),
        ("NSAP", "47000580005a0000000001e133ffffff00016100", r#"0x47000580005a0000000001e133ffffff00016100"#),
        ("X25", "0c333131303631373030393536", r#""311061700956""#),
        ("ISDN", "0f31353038363230323830303332313703303034", r#""150862028003217" "004""#),
        ("GPOS", "082d33322e36383832083131362e383635320431302e30", r#"-32.6882 116.8652 10.0"#),
        ("DHCID", "000201636fc0b8271c82825bb1ac5c41cf5351aa69b4febd94e8f17cdb95000da48c40", r#"AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA="#),
        ("NULL", "010203", r#"\# 3 010203"#),
        ("DSYNC", "003b0114ef0b6364732d7363616e6e6572076578616d706c65036e657400", r#"CDS NOTIFY 5359 cds-scanner.example.net."#),
        ("RT", "000a0572656c6179076578616d706c6500", r#"10 relay.example."#),
        ("PX", "000a066d6170383232076578616d706c6500076d617078343030076578616d706c6500", r#"10 map822.example. mapx400.example."#),
        // From the testbed: a LOC with non-default size and precisions.
        ("LOC", "000016138b3cf018810cbce0009895b8", r#"52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000.00m 10.00m"#),
        // HTTPS with a non-root target and an alpn id holding a comma and a backslash.
        ("HTTPS", "0001036e6574000001000803612c62035c7832", r#"1 net. alpn="a\\,b,\\\\x2""#),
    ];
    for (t, wire_hex, want) in cases {
        check(t, wire_hex, want);
    }
}

#[test]
fn types_without_dnspython_class() {
    // MB MG MR MD MF and MINFO print as the names they hold (dnspython itself would fall
    // back to the generic form for these obsolete types).
    for t in ["MB", "MG", "MR", "MD", "MF"] {
        check(t, "026d62076578616d706c6500", "mb.example.");
    }
    check(
        "MINFO",
        "0161076578616d706c65000162076578616d706c6500",
        "a.example. b.example.",
    );
    // NULL, NXT, A6, OPT, TSIG, TA and unknown types: RFC 3597 generic form.
    for t in ["NULL", "NXT", "A6", "OPT", "TSIG", "TA", "TYPE65280"] {
        check(t, "010203", r"\# 3 010203");
    }
    check("TYPE65280", "", r"\# 0");
}

#[test]
fn generic_form() {
    assert_eq!(rdata_generic(&[]), r"\# 0");
    assert_eq!(rdata_generic(&[0, 0xab, 0xff]), r"\# 3 00abff");
}

#[test]
fn malformed_rdata_is_err() {
    let bad: &[(&str, &str)] = &[
        ("A", "c00002"),     // 3 bytes
        ("A", "c000020101"), // 5 bytes
        ("AAAA", "20010db8"),
        ("MX", "000a"),                                // no name
        ("MX", "000a016100ff"),                        // trailing byte
        ("MX", "000ac000"),                            // pointer in canonical data
        ("MX", "000a4000"),                            // label type 0b01
        ("NS", "0161"),                                // no root label
        ("SOA", "0000000000"),                         // names but no numbers
        ("TXT", ""),                                   // no string at all
        ("TXT", "0561"),                               // string runs past the end
        ("HINFO", "0163"),                             // one string of two
        ("CAA", "0000"),                               // empty tag
        ("CAA", "0003612d62"),                         // tag not alphanumeric
        ("URI", "000a0001"),                           // empty target
        ("DS", "30390d02abab"),                        // SHA-256 digest too short
        ("DS", "30390d00ab"),                          // digest type 0
        ("SSHFP", "0101ab"),                           // SHA-1 fingerprint too short
        ("TLSA", "030101ab"),                          // SHA-256 too short
        ("NSEC", "00000100"),                          // empty window bitmap
        ("NSEC", "0000020100"),                        // trailing zero bitmap byte
        ("NSEC", "0001014000"),                        // second window cut short
        ("NSEC", "0001014000014000"),                  // windows out of order
        ("NSEC3", "0100000a0000"),                     // empty next hash
        ("NSEC3PARAM", "0100000000ff"),                // trailing byte
        ("LOC", "011216138b0d2c8c7ff8fca400989680"),   // version 1
        ("LOC", "00a216138b0d2c8c7ff8fca400989680"),   // size base 10
        ("LOC", "000216138b0d2c8c7ff8fca400989680"),   // zero base with exponent
        ("LOC", "0012161300000000000000000098968000"), // 17 bytes
        ("SVCB", "0000000003000201bb"),                // parameters in AliasMode
        ("SVCB", "0001000003000201bb00010003026832"),  // value cut short
        ("SVCB", "00010000030002000100010003026832"),  // keys out of order
        ("SVCB", "000100000000020003"),                // mandatory key missing
        ("SVCB", "0001000002000000"),                  // no-default-alpn without alpn
        ("SVCB", "00010000030003000001"),              // port of 3 bytes
        ("SVCB", "0001000001000100"),                  // empty alpn id
        ("SVCB", "00010000050004000201ff"),            // ECH length mismatch
        ("ZONEMD", "000007e90101abab"),                // digest too short
        ("EUI48", "00005e00532a00"),
        ("IPSECKEY", "0a0402010203"), // gateway type 4
        ("APL", "0001210400000001"),  // IPv4 prefix 33
        ("APL", "0001200400000100"),  // trailing zero address byte
        ("WKS", "0a0000"),
    ];
    for (t, wire_hex) in bad {
        let rtype = type_from_name(t).expect("type");
        let got = rdata_to_text(rtype, &hex(wire_hex));
        assert!(
            matches!(got, Err(WireError::BadRdata { rtype: r }) if r == rtype)
                || matches!(
                    got,
                    Err(WireError::UnexpectedPointer | WireError::BadLabel(_))
                ),
            "{t} {wire_hex}: {got:?}"
        );
    }
}
