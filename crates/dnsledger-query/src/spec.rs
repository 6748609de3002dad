//! Query forms in text, as dnsdbq's options, its batch lines and DNSDB's URL paths spell
//! them, turned into store [`Lookup`]s.
//!
//! Every form arrives as segments: the CLI splits `NAME/TYPE/BAILIWICK` on `/`, the server
//! splits the URL path and percent-decodes each segment (so `%2F` inside a name stays in
//! the name). [`from_segments`] serves both.

use std::net::IpAddr;

use dnsledger_store::{Lookup, NamePattern, TypeFilter};
use dnsledger_wire::NameBuf;

/// A query that cannot be run as written; the message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadQuery(pub String);

fn bad<T>(message: impl Into<String>) -> Result<T, BadQuery> {
    Err(BadQuery(message.into()))
}

/// Values given beside the query form (dnsdbq's `-t` and `-b`); they win over the form's.
#[derive(Clone, Copy, Debug, Default)]
pub struct Overrides<'a> {
    pub rrtype: Option<&'a str>,
    pub bailiwick: Option<&'a str>,
}

/// `rrset name|raw`, `rdata name|ip|raw`, then the value segments:
/// `OWNER[/TYPE[/BAILIWICK]]`, `HEX[/TYPE[/BAILIWICK]]`, `NAME[/TYPE]`,
/// `ADDR[,LEN]|LO-HI[/TYPE]`, `HEX[/TYPE]`.
pub fn from_segments(
    kind: &str,
    form: &str,
    values: &[&str],
    overrides: Overrides,
) -> Result<Lookup, BadQuery> {
    let Some((&value, rest)) = values.split_first() else {
        return bad(format!("{kind}/{form}: the value to look up is missing"));
    };
    let most = |n: usize| match rest.len() <= n {
        true => Ok(()),
        false => bad(format!(
            "{kind}/{form}: too many segments after {value:?}: {rest:?}"
        )),
    };
    let rrtype = overrides.rrtype.or(rest.first().copied());
    match (kind, form) {
        ("rrset", "name" | "raw") => {
            most(2)?;
            let bailiwick = overrides.bailiwick.or(rest.get(1).copied());
            rrset(value, form == "raw", rrtype, bailiwick)
        }
        ("rdata", "name") => most(1).and_then(|()| rdata_name(value, rrtype)),
        ("rdata", "raw") => most(1).and_then(|()| rdata_raw(value, rrtype)),
        ("rdata", "ip") => {
            most(1)?;
            // dnsdbq's -i takes ADDR/LEN; split on '/', the length arrives as a segment.
            match rest.first() {
                Some(len) if is_number(len) => {
                    rdata_ip(&format!("{value},{len}"), overrides.rrtype)
                }
                _ => rdata_ip(value, rrtype),
            }
        }
        _ => bad(format!(
            "{kind}/{form}: expected rrset/name, rrset/raw, rdata/name, rdata/ip or rdata/raw"
        )),
    }
}

/// The DNSDB API path of a query form (`rrset/name/x.example/A`), with the overrides in
/// their segments (`ANY` filling the type slot when only a bailiwick is given) and each
/// segment percent-encoded.
pub fn dnsdb_path(kind: &str, form: &str, values: &[&str], overrides: Overrides) -> String {
    let mut segments: Vec<String> = values.iter().map(|v| (*v).to_string()).collect();
    if (kind, form) == ("rdata", "ip") && segments.len() == 2 && is_number(&segments[1]) {
        let len = segments.remove(1);
        segments[0] = format!("{},{len}", segments[0]);
    }
    let mut set = |index: usize, value: &str| {
        while segments.len() <= index {
            segments.push("ANY".into());
        }
        segments[index] = value.to_string();
    };
    if let Some(rrtype) = overrides.rrtype {
        set(1, rrtype);
    }
    if let Some(bailiwick) = overrides.bailiwick {
        set(2, bailiwick);
    }
    let encoded: Vec<String> = segments.iter().map(|s| percent_encode_segment(s)).collect();
    format!("{kind}/{form}/{}", encoded.join("/"))
}

/// The path of `lookup` that [`from_line`] reads back as the same lookup (the form a
/// router asks its shards with): exact owners as raw wire hex, so that no name depends on
/// its presentation surviving a round trip; segments percent-encoded.
pub fn lookup_path(lookup: &Lookup) -> String {
    let segments: Vec<String> = match lookup {
        Lookup::RRset {
            owner,
            rrtype,
            bailiwick,
        } => {
            let (form, owner) = match owner {
                NamePattern::Exact(name) => ("raw", hex_text(name.as_wire())),
                pattern => ("name", pattern_text(pattern)),
            };
            let mut segments = vec!["rrset".into(), form.into(), owner, type_text(*rrtype)];
            segments.extend(bailiwick.as_ref().map(NameBuf::to_text));
            segments
        }
        Lookup::RdataName { name, rrtype } => vec![
            "rdata".into(),
            "name".into(),
            pattern_text(name),
            type_text(*rrtype),
        ],
        Lookup::RdataIp { lo, hi } => vec!["rdata".into(), "ip".into(), format!("{lo}-{hi}")],
        Lookup::RdataRaw { rdata, rrtype } => vec![
            "rdata".into(),
            "raw".into(),
            hex_text(rdata),
            type_text(*rrtype),
        ],
    };
    let encoded: Vec<String> = segments.iter().map(|s| percent_encode_segment(s)).collect();
    encoded.join("/")
}

fn pattern_text(pattern: &NamePattern) -> String {
    match pattern {
        NamePattern::Exact(name) => name.to_text(),
        NamePattern::Below(name) => format!("*.{}", name.to_text()),
        NamePattern::Starting(name) => format!("{}*", name.to_text()),
    }
}

fn type_text(filter: TypeFilter) -> String {
    match filter {
        TypeFilter::Any => "ANY".into(),
        TypeFilter::AnyDnssec => "ANY-DNSSEC".into(),
        TypeFilter::Only(rrtype) => dnsledger_wire::type_name(rrtype).into_owned(),
    }
}

fn hex_text(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Everything but unreserved characters and the few DNSDB values use (`*`, `,`, `:`).
fn percent_encode_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        match byte {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'*'
            | b','
            | b':' => encoded.push(char::from(byte)),
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

/// A batch line or a path tail: `rrset/name/X[/T[/B]]`, `rdata/ip/X`, ...
pub fn from_line(line: &str, overrides: Overrides) -> Result<Lookup, BadQuery> {
    let segments: Vec<&str> = line.split('/').collect();
    match segments.as_slice() {
        [kind, form, values @ ..] => from_segments(kind, form, values, overrides),
        _ => bad(format!(
            "{line:?}: expected rrset/name/, rrset/raw/, rdata/name/, rdata/ip/ or rdata/raw/"
        )),
    }
}

/// `ANY`, `ANY-DNSSEC`, a mnemonic or `TYPEnnn`; absent means `ANY`.
pub fn type_filter(text: Option<&str>) -> Result<TypeFilter, BadQuery> {
    match text {
        None => Ok(TypeFilter::Any),
        Some(text) => TypeFilter::parse(text).map_err(|e| BadQuery(e.0)),
    }
}

fn name(text: &str) -> Result<NameBuf, BadQuery> {
    NameBuf::from_text(text).map_err(|e| BadQuery(format!("bad name {text:?}: {e}")))
}

fn pattern(text: &str) -> Result<NamePattern, BadQuery> {
    NamePattern::parse(text).map_err(|e| BadQuery(e.0))
}

/// RRsets by owner (a name with an optional wildcard, or hex wire bytes when `raw`).
pub fn rrset(
    owner: &str,
    raw: bool,
    rrtype: Option<&str>,
    bailiwick: Option<&str>,
) -> Result<Lookup, BadQuery> {
    let owner = match raw {
        true => NamePattern::Exact(
            NameBuf::from_wire(&hex(owner)?)
                .map_err(|e| BadQuery(format!("bad owner wire bytes: {e}")))?,
        ),
        false => pattern(owner)?,
    };
    let bailiwick = bailiwick.map(name).transpose()?;
    if bailiwick.is_some() && !matches!(owner, NamePattern::Exact(_)) {
        return bad("a bailiwick goes with an exact owner name only");
    }
    Ok(Lookup::RRset {
        owner,
        rrtype: type_filter(rrtype)?,
        bailiwick,
    })
}

/// Rdata rows by a name inside NS, CNAME, DNAME, PTR, MX, SRV, SOA, SVCB or HTTPS rdata.
pub fn rdata_name(text: &str, rrtype: Option<&str>) -> Result<Lookup, BadQuery> {
    Ok(Lookup::RdataName {
        name: pattern(text)?,
        rrtype: type_filter(rrtype)?,
    })
}

/// Rdata rows whose rdata is exactly these hex bytes.
pub fn rdata_raw(text: &str, rrtype: Option<&str>) -> Result<Lookup, BadQuery> {
    Ok(Lookup::RdataRaw {
        rdata: hex(text)?,
        rrtype: type_filter(rrtype)?,
    })
}

/// Whole bytes of hex digits.
pub fn hex(text: &str) -> Result<Vec<u8>, BadQuery> {
    let digits = text.trim();
    if !digits.len().is_multiple_of(2) || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return bad(format!("{text:?} is not an even number of hex digits"));
    }
    Ok((0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap_or_default())
        .collect())
}

/// An address, `ADDR,LEN` (or `ADDR/LEN`), or `LO-HI`; the type, when given, must be
/// `A`, `AAAA` (matching the family) or `ANY`.
pub fn rdata_ip(text: &str, rrtype: Option<&str>) -> Result<Lookup, BadQuery> {
    let (lo, hi) = ip_range(text)?;
    let wanted = rrtype.map(str::to_ascii_uppercase);
    let family = if lo.is_ipv4() { "A" } else { "AAAA" };
    match wanted.as_deref() {
        None | Some("ANY") => {}
        Some(t) if t == family => {}
        Some(t) => {
            return bad(format!(
                "rdata/ip with rrtype {t}: only {family} or ANY fit"
            ))
        }
    }
    Ok(Lookup::RdataIp { lo, hi })
}

fn ip_range(text: &str) -> Result<(IpAddr, IpAddr), BadQuery> {
    let addr = |t: &str| {
        t.trim()
            .parse::<IpAddr>()
            .map_err(|_| BadQuery(format!("bad address {t:?}")))
    };
    if let Some((lo, hi)) = text.split_once('-') {
        let (lo, hi) = (addr(lo)?, addr(hi)?);
        if lo.is_ipv4() != hi.is_ipv4() || lo > hi {
            return bad(format!(
                "{text:?}: a range goes from low to high in one family"
            ));
        }
        return Ok((lo, hi));
    }
    let Some((base, len)) = text.split_once([',', '/']) else {
        let one = addr(text)?;
        return Ok((one, one));
    };
    let base = addr(base)?;
    let len: u32 = len
        .parse()
        .map_err(|_| BadQuery(format!("bad prefix length {len:?}")))?;
    prefix_range(base, len).ok_or_else(|| BadQuery(format!("prefix length {len} is too long")))
}

/// The first and last address of a prefix.
fn prefix_range(base: IpAddr, len: u32) -> Option<(IpAddr, IpAddr)> {
    match base {
        IpAddr::V4(v4) if len <= 32 => {
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            let lo = u32::from(v4) & mask;
            Some((
                IpAddr::from(lo.to_be_bytes()),
                IpAddr::from((lo | !mask).to_be_bytes()),
            ))
        }
        IpAddr::V6(v6) if len <= 128 => {
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            let lo = u128::from(v6) & mask;
            Some((
                IpAddr::from(lo.to_be_bytes()),
                IpAddr::from((lo | !mask).to_be_bytes()),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_become_ranges() {
        let ip = |t: &str| t.parse::<IpAddr>().unwrap();
        assert_eq!(
            prefix_range(ip("192.0.2.77"), 24),
            Some((ip("192.0.2.0"), ip("192.0.2.255")))
        );
        assert_eq!(
            prefix_range(ip("10.1.2.3"), 0),
            Some((ip("0.0.0.0"), ip("255.255.255.255")))
        );
        assert_eq!(
            prefix_range(ip("2001:db8::1"), 32),
            Some((
                ip("2001:db8::"),
                ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")
            ))
        );
        assert_eq!(prefix_range(ip("192.0.2.1"), 33), None);
    }

    #[test]
    fn segments_become_lookups_with_overrides_winning() {
        let none = Overrides::default();
        let lookup = from_segments("rrset", "name", &["*.example.com", "NS"], none).unwrap();
        assert!(matches!(
            lookup,
            Lookup::RRset {
                owner: NamePattern::Below(_),
                rrtype: TypeFilter::Only(2),
                bailiwick: None
            }
        ));
        let forced = Overrides {
            rrtype: Some("A"),
            bailiwick: Some("com"),
        };
        let lookup = from_line("rrset/name/example.com/ANY", forced).unwrap();
        assert!(matches!(
            lookup,
            Lookup::RRset {
                rrtype: TypeFilter::Only(1),
                bailiwick: Some(_),
                ..
            }
        ));
        let ip = |line: &str| from_line(line, none);
        assert_eq!(
            ip("rdata/ip/192.0.2.0,24").unwrap(),
            ip("rdata/ip/192.0.2.0/24").unwrap()
        );
        assert!(ip("rdata/ip/192.0.2.1/AAAA").is_err());
        assert!(ip("rdata/ip/192.0.2.9-192.0.2.1").is_err());
        assert!(ip("rdata/ip/192.0.2.1-2001:db8::1").is_err());
        assert!(from_line("rdata/name/a.example/NS/extra", none).is_err());
        assert!(from_line("rrset/name", none).is_err());
        assert!(from_line("rrset/name/*.example.com/A/com", none).is_err());
        assert!(from_line("zone/name/x", none).is_err());
    }

    #[test]
    fn dnsdb_paths_put_overrides_in_their_slots_and_encode_segments() {
        let none = Overrides::default();
        assert_eq!(
            dnsdb_path("rrset", "name", &["*.example.com"], none),
            "rrset/name/*.example.com"
        );
        let bailiwick_only = Overrides {
            rrtype: None,
            bailiwick: Some("com"),
        };
        assert_eq!(
            dnsdb_path("rrset", "name", &["example.com"], bailiwick_only),
            "rrset/name/example.com/ANY/com"
        );
        assert_eq!(
            dnsdb_path("rdata", "ip", &["2001:db8::", "32"], none),
            "rdata/ip/2001:db8::,32"
        );
        assert_eq!(
            dnsdb_path(
                "rdata",
                "name",
                &["a b/c"],
                Overrides {
                    rrtype: Some("NS"),
                    bailiwick: None
                }
            ),
            "rdata/name/a%20b%2Fc/NS"
        );
    }

    #[test]
    fn lookup_paths_read_back_as_the_same_lookup() {
        let lines = [
            "rrset/name/www.Example.com/A/example.com",
            "rrset/name/*.example.com/ANY-DNSSEC",
            "rrset/name/www.example.*",
            "rrset/name/odd\\032name\\.with-dot.example/TYPE65280",
            "rdata/name/ns1.example.net/NS",
            "rdata/name/*.example.net",
            "rdata/ip/192.0.2.0,24",
            "rdata/ip/2001:db8::1",
            "rdata/raw/c0000201/A",
            "rdata/raw/0a",
        ];
        for line in lines {
            let lookup = from_line(line, Overrides::default()).unwrap();
            let path = lookup_path(&lookup);
            let segments: Vec<String> = path
                .split('/')
                .map(|s| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8()
                        .unwrap()
                        .into_owned()
                })
                .collect();
            let values: Vec<&str> = segments[2..].iter().map(String::as_str).collect();
            let again = from_segments(&segments[0], &segments[1], &values, Overrides::default());
            assert_eq!(again, Ok(lookup), "{line} -> {path}");
        }
    }

    #[test]
    fn hex_must_be_whole_bytes() {
        assert_eq!(hex("c0000201").unwrap(), vec![192, 0, 2, 1]);
        assert!(hex("abc").is_err());
        assert!(hex("zz").is_err());
    }
}
