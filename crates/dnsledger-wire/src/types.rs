//! Numeric registries: record types, classes, response codes, opcodes.
//!
//! The record type mnemonics are exactly dnspython's (2.x) list, because they appear in
//! presentation text (RRSIG type covered, NSEC/NSEC3/CSYNC bitmaps) that must match
//! dnspython's output byte for byte: a type dnspython has no name for is `TYPEnnn` here too.

use std::borrow::Cow;

macro_rules! rtypes {
    ($($name:ident = $value:literal $(as $text:literal)?,)*) => {
        /// Record type numbers, named after their mnemonics (`NSAP_PTR` is `NSAP-PTR`).
        pub mod rtype {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                pub const $name: u16 = $value;
            )*
        }

        /// (number, mnemonic), sorted by number.
        const RTYPE_NAMES: &[(u16, &str)] = &[$(($value, rtypes!(@text $name $($text)?))),*];
    };
    (@text $name:ident $text:literal) => { $text };
    (@text $name:ident) => { stringify!($name) };
}

rtypes! {
    A = 1, NS = 2, MD = 3, MF = 4, CNAME = 5, SOA = 6, MB = 7, MG = 8, MR = 9, NULL = 10,
    WKS = 11, PTR = 12, HINFO = 13, MINFO = 14, MX = 15, TXT = 16, RP = 17, AFSDB = 18,
    X25 = 19, ISDN = 20, RT = 21, NSAP = 22, NSAP_PTR = 23 as "NSAP-PTR", SIG = 24, KEY = 25,
    PX = 26, GPOS = 27, AAAA = 28, LOC = 29, NXT = 30, SRV = 33, NAPTR = 35, KX = 36,
    CERT = 37, A6 = 38, DNAME = 39, OPT = 41, APL = 42, DS = 43, SSHFP = 44, IPSECKEY = 45,
    RRSIG = 46, NSEC = 47, DNSKEY = 48, DHCID = 49, NSEC3 = 50, NSEC3PARAM = 51, TLSA = 52,
    SMIMEA = 53, HIP = 55, NINFO = 56, CDS = 59, CDNSKEY = 60, OPENPGPKEY = 61, CSYNC = 62,
    ZONEMD = 63, SVCB = 64, HTTPS = 65, DSYNC = 66, HHIT = 67, BRID = 68, SPF = 99,
    UNSPEC = 103, NID = 104, L32 = 105, L64 = 106, LP = 107, EUI48 = 108, EUI64 = 109,
    NXNAME = 128, TKEY = 249, TSIG = 250, IXFR = 251, AXFR = 252, MAILB = 253, MAILA = 254,
    ANY = 255, URI = 256, CAA = 257, AVC = 258, AMTRELAY = 260, RESINFO = 261, WALLET = 262,
    TA = 32768, DLV = 32769,
}

/// The mnemonic of a record type (`"A"`, `"HTTPS"`), or `TYPEnnn` (RFC 3597) if unnamed.
pub fn type_name(rtype: u16) -> Cow<'static, str> {
    match RTYPE_NAMES.binary_search_by_key(&rtype, |&(v, _)| v) {
        Ok(i) => RTYPE_NAMES
            .get(i)
            .map_or(Cow::Borrowed("?"), |&(_, n)| Cow::Borrowed(n)),
        Err(_) => Cow::Owned(format!("TYPE{rtype}")),
    }
}

/// The number of a record type mnemonic, case-insensitively; also accepts `TYPEnnn` and
/// `NSAP_PTR` for `NSAP-PTR`.
pub fn type_from_name(s: &str) -> Option<u16> {
    if let Some(&(v, _)) = RTYPE_NAMES.iter().find(|(_, n)| {
        n.eq_ignore_ascii_case(s)
            || (n.contains('-') && n.replace('-', "_").eq_ignore_ascii_case(s))
    }) {
        return Some(v);
    }
    let digits = s
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("TYPE"))
        .and(s.get(4..))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// True for the DNSSEC record types: DS RRSIG NSEC DNSKEY NSEC3 NSEC3PARAM DLV CDS CDNSKEY TA.
pub fn is_dnssec_type(rtype: u16) -> bool {
    matches!(
        rtype,
        rtype::DS
            | rtype::RRSIG
            | rtype::NSEC
            | rtype::DNSKEY
            | rtype::NSEC3
            | rtype::NSEC3PARAM
            | rtype::DLV
            | rtype::CDS
            | rtype::CDNSKEY
            | rtype::TA
    )
}

/// Response codes (RFC 1035, RFC 2136, RFC 6891, RFC 8945...), `u8` like
/// [`Header::rcode`](crate::Header::rcode). Values above 15 need the EDNS extended bits.
pub mod rcode {
    /// No error.
    pub const NOERROR: u8 = 0;
    /// Format error.
    pub const FORMERR: u8 = 1;
    /// Server failure.
    pub const SERVFAIL: u8 = 2;
    /// Name does not exist.
    pub const NXDOMAIN: u8 = 3;
    /// Not implemented.
    pub const NOTIMP: u8 = 4;
    /// Refused.
    pub const REFUSED: u8 = 5;
    /// Name exists when it should not (UPDATE).
    pub const YXDOMAIN: u8 = 6;
    /// RRset exists when it should not (UPDATE).
    pub const YXRRSET: u8 = 7;
    /// RRset that should exist does not (UPDATE).
    pub const NXRRSET: u8 = 8;
    /// Not authoritative / not authorized.
    pub const NOTAUTH: u8 = 9;
    /// Name not in zone (UPDATE).
    pub const NOTZONE: u8 = 10;
    /// DSO-TYPE not implemented (RFC 8490).
    pub const DSOTYPENI: u8 = 11;
    /// Bad OPT version (EDNS).
    pub const BADVERS: u8 = 16;
    /// Key not recognised (TSIG).
    pub const BADKEY: u8 = 17;
    /// Signature out of time window (TSIG).
    pub const BADTIME: u8 = 18;
    /// Bad TKEY mode.
    pub const BADMODE: u8 = 19;
    /// Duplicate key name (TKEY).
    pub const BADNAME: u8 = 20;
    /// Algorithm not supported (TKEY).
    pub const BADALG: u8 = 21;
    /// Bad truncation (TSIG).
    pub const BADTRUNC: u8 = 22;
    /// Bad or missing server cookie.
    pub const BADCOOKIE: u8 = 23;
}

/// Record classes.
pub mod class {
    /// Internet.
    pub const IN: u16 = 1;
    /// Chaos.
    pub const CH: u16 = 3;
    /// Hesiod.
    pub const HS: u16 = 4;
    /// NONE (UPDATE).
    pub const NONE: u16 = 254;
    /// ANY (QCLASS *).
    pub const ANY: u16 = 255;
}

/// Operation codes.
pub mod opcode {
    /// Standard query.
    pub const QUERY: u8 = 0;
    /// Inverse query (obsolete).
    pub const IQUERY: u8 = 1;
    /// Server status.
    pub const STATUS: u8 = 2;
    /// Zone change notification (RFC 1996).
    pub const NOTIFY: u8 = 4;
    /// Dynamic update (RFC 2136).
    pub const UPDATE: u8 = 5;
    /// DNS stateful operations (RFC 8490).
    pub const DSO: u8 = 6;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(RTYPE_NAMES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn names_round_trip() {
        for &(v, n) in RTYPE_NAMES {
            assert_eq!(type_name(v), n);
            assert_eq!(type_from_name(n), Some(v), "{n}");
            assert_eq!(type_from_name(&n.to_ascii_lowercase()), Some(v), "{n}");
        }
        for v in [0u16, 31, 40, 65280, 65535] {
            let n = type_name(v);
            assert_eq!(n, format!("TYPE{v}"));
            assert_eq!(type_from_name(&n), Some(v));
        }
    }

    #[test]
    fn names_check() {
        let cases: &[(&str, Option<u16>)] = &[
            ("A", Some(1)),
            ("https", Some(65)),
            ("NSAP-PTR", Some(23)),
            ("nsap_ptr", Some(23)),
            ("TYPE1", Some(1)),
            ("type65535", Some(65535)),
            ("TYPE65536", None),
            ("TYPE", None),
            ("TYPE-1", None),
            ("TYPE1x", None),
            ("", None),
            ("BOGUS", None),
        ];
        for (s, want) in cases {
            assert_eq!(type_from_name(s), *want, "{s}");
        }
        assert_eq!(type_name(rtype::NSAP_PTR), "NSAP-PTR");
        assert_eq!(type_name(rtype::TA), "TA");
    }

    #[test]
    fn dnssec_types() {
        let all: Vec<u16> = (0..=u16::MAX).filter(|&t| is_dnssec_type(t)).collect();
        assert_eq!(all, vec![43, 46, 47, 48, 50, 51, 59, 60, 32768, 32769]);
    }
}
