//! Presentation text of canonical rdata, the way dnspython (2.x, `to_text(chunksize=0)`)
//! prints it: names absolute, base64 and hex in one piece, hex in lower case, character
//! strings quoted, type lists as mnemonics.
//!
//! Each `fmt_*` function mirrors the `to_text` of the dnspython class named in its comment,
//! including the checks dnspython's constructors make: an rdata dnspython would refuse is an
//! `Err` here, and callers print it with [`rdata_generic`] instead.

use std::fmt::Write as _;

use super::{loc, read_gateway, svcb, Gateway, Src};
use crate::name::Compression;
use crate::text::{
    push_base32hex, push_base64, push_escaped, push_hex, push_ipv4, push_ipv6, push_labels_text,
    push_quoted, push_sigtime,
};
use crate::types::{rtype, type_name};
use crate::WireError;

/// Presentation text of canonical rdata (as produced by
/// [`Record::canonical_rdata`](crate::Record::canonical_rdata)), the way dnspython and DNSDB
/// print it. Types without a dnspython presentation format get the RFC 3597 generic form.
/// `Err` if the rdata does not fit its type; callers then fall back to [`rdata_generic`].
pub fn rdata_to_text(rtype: u16, canonical: &[u8]) -> Result<String, WireError> {
    let mut out = String::with_capacity(canonical.len() * 2 + 16);
    push_rdata_known(&mut out, rtype, canonical)?;
    Ok(out)
}

/// Appends the presentation text of canonical rdata to `out`, in the RFC 3597 generic form
/// when it does not fit its type: [`rdata_to_text`] with its fallback, for callers that
/// format many rows into one buffer.
pub fn push_rdata_text(out: &mut String, rtype: u16, canonical: &[u8]) {
    let start = out.len();
    if push_rdata_known(out, rtype, canonical).is_err() {
        out.truncate(start);
        push_generic(out, canonical);
    }
}

/// The presentation text, or the generic form for types without one; `Err` (with `out`
/// partly written) when the rdata does not fit its type.
fn push_rdata_known(out: &mut String, rtype: u16, canonical: &[u8]) -> Result<(), WireError> {
    let start = out.len();
    let mut src = Src::new(rtype, canonical, 0, canonical.len());
    if !fmt_known(&mut src, out)? {
        out.truncate(start);
        push_generic(out, canonical);
        return Ok(());
    }
    src.finish()
}

/// RFC 3597 generic form: `\# <len> <hex>` (lower-case hex without spaces; `\# 0` if empty).
pub fn rdata_generic(canonical: &[u8]) -> String {
    let mut out = String::with_capacity(canonical.len() * 2 + 10);
    push_generic(&mut out, canonical);
    out
}

fn push_generic(out: &mut String, canonical: &[u8]) {
    let _ = write!(out, "\\# {}", canonical.len());
    if !canonical.is_empty() {
        out.push(' ');
        push_hex(out, canonical);
    }
}

/// Formats a type that has a presentation format; `Ok(false)` for the others.
fn fmt_known(src: &mut Src<'_>, out: &mut String) -> Result<bool, WireError> {
    match src.rtype {
        rtype::A => push_ipv4(out, src.array()?),
        rtype::AAAA => push_ipv6(out, src.array()?),
        // nsbase.NSBase / UncompressedNS; MD MF MB MG MR have no dnspython class, but print
        // as the single name they are (what DNSDB shows).
        rtype::NS
        | rtype::CNAME
        | rtype::DNAME
        | rtype::PTR
        | rtype::MB
        | rtype::MG
        | rtype::MR
        | rtype::MD
        | rtype::MF
        | rtype::NSAP_PTR => name(src, out)?,
        rtype::SOA => fmt_soa(src, out)?,
        rtype::MINFO | rtype::RP => {
            name(src, out)?;
            sp_name(src, out)?;
        }
        // mxbase: preference and a name.
        rtype::MX | rtype::AFSDB | rtype::RT | rtype::KX | rtype::LP => {
            num(out, src.u16()?);
            sp_name(src, out)?;
        }
        rtype::PX => {
            num(out, src.u16()?);
            sp_name(src, out)?;
            sp_name(src, out)?;
        }
        rtype::SRV => fmt_srv(src, out)?,
        rtype::NAPTR => fmt_naptr(src, out)?,
        rtype::TXT | rtype::SPF | rtype::AVC | rtype::NINFO | rtype::RESINFO | rtype::WALLET => {
            fmt_txt(src, out)?
        }
        rtype::HINFO => {
            push_quoted(out, src.counted()?);
            out.push(' ');
            push_quoted(out, src.counted()?);
        }
        rtype::X25 => push_quoted(out, src.counted()?),
        rtype::ISDN => fmt_isdn(src, out)?,
        rtype::GPOS => fmt_gpos(src, out)?,
        rtype::CAA => fmt_caa(src, out)?,
        rtype::URI => fmt_uri(src, out)?,
        rtype::LOC => loc::fmt_loc(src, out)?,
        rtype::DS | rtype::CDS | rtype::DLV => fmt_ds(src, out)?,
        rtype::DNSKEY | rtype::CDNSKEY | rtype::KEY => fmt_dnskey(src, out)?,
        rtype::RRSIG | rtype::SIG => fmt_rrsig(src, out)?,
        rtype::NSEC => {
            name(src, out)?;
            fmt_bitmap(src, out)?;
        }
        rtype::NSEC3 => fmt_nsec3(src, out)?,
        rtype::NSEC3PARAM => fmt_nsec3_salt_prefix(src, out)?,
        rtype::CSYNC => {
            num(out, src.u32()?);
            out.push(' ');
            num(out, src.u16()?);
            fmt_bitmap(src, out)?;
        }
        rtype::ZONEMD => fmt_zonemd(src, out)?,
        rtype::TLSA | rtype::SMIMEA => fmt_tlsa(src, out)?,
        rtype::SSHFP => fmt_sshfp(src, out)?,
        rtype::OPENPGPKEY | rtype::DHCID | rtype::HHIT | rtype::BRID => {
            push_base64(out, src.rest())
        }
        rtype::CERT => fmt_cert(src, out)?,
        rtype::SVCB | rtype::HTTPS => svcb::fmt_svcb(src, out)?,
        rtype::EUI48 | rtype::EUI64 => fmt_eui(src, out)?,
        rtype::L32 => {
            num(out, src.u16()?);
            out.push(' ');
            push_ipv4(out, src.array()?);
        }
        rtype::L64 | rtype::NID => {
            num(out, src.u16()?);
            out.push(' ');
            fmt_hex_groups(out, &src.array::<8>()?);
        }
        rtype::NSAP => {
            out.push_str("0x");
            push_hex(out, src.rest());
        }
        rtype::WKS => fmt_wks(src, out)?,
        rtype::APL => fmt_apl(src, out)?,
        rtype::IPSECKEY => fmt_ipseckey(src, out)?,
        rtype::AMTRELAY => fmt_amtrelay(src, out)?,
        rtype::HIP => fmt_hip(src, out)?,
        rtype::DSYNC => fmt_dsync(src, out)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Appends `v` in decimal, with itoa: `write!` costs several times as much, and a sensor
/// prints hundreds of thousands of rows at once.
fn num(out: &mut String, v: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Appends `v` preceded by a space.
fn sp_num(out: &mut String, v: impl itoa::Integer) {
    out.push(' ');
    num(out, v);
}

/// Appends the leading integer fields of a record, each followed by a space.
fn nums_then_space(out: &mut String, values: &[u32]) {
    for &v in values {
        num(out, v);
        out.push(' ');
    }
}

fn name(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    let n = src.name(Compression::Forbidden)?;
    push_labels_text(out, n.labels());
    Ok(())
}

fn sp_name(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    out.push(' ');
    name(src, out)
}

/// `mname rname serial refresh retry expire minimum`.
fn fmt_soa(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    name(src, out)?;
    sp_name(src, out)?;
    for _ in 0..5 {
        sp_num(out, src.u32()?);
    }
    Ok(())
}

/// `priority weight port target`.
fn fmt_srv(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    num(out, src.u16()?);
    sp_num(out, src.u16()?);
    sp_num(out, src.u16()?);
    sp_name(src, out)
}

/// `order preference "flags" "service" "regexp" replacement`.
fn fmt_naptr(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    num(out, src.u16()?);
    sp_num(out, src.u16()?);
    for _ in 0..3 {
        out.push(' ');
        push_quoted(out, src.counted()?);
    }
    sp_name(src, out)
}

/// txtbase.TXTBase: each string quoted, separated by spaces; at least one string.
fn fmt_txt(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    if src.remaining() == 0 {
        return Err(src.bad());
    }
    push_quoted(out, src.counted()?);
    while src.remaining() > 0 {
        out.push(' ');
        push_quoted(out, src.counted()?);
    }
    Ok(())
}

/// `"address"` and, if present and not empty, `"subaddress"`.
fn fmt_isdn(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    push_quoted(out, src.counted()?);
    if src.remaining() > 0 {
        let sub = src.counted()?;
        if !sub.is_empty() {
            out.push(' ');
            push_quoted(out, sub);
        }
    }
    Ok(())
}

/// GPOS: three decimal strings printed bare, validated like dnspython
/// (`_validate_float_string`, latitude within ±90, longitude within ±180).
fn fmt_gpos(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    let parts = [src.counted()?, src.counted()?, src.counted()?];
    let mut values = [0f64; 3];
    for (value, part) in values.iter_mut().zip(parts) {
        *value = gpos_float(part).ok_or(src.bad())?;
    }
    let [lat, long, _alt] = values;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&long) {
        return Err(src.bad());
    }
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        // Validated as sign, digits and one dot: plain ASCII.
        out.extend(part.iter().map(|&b| char::from(b)));
    }
    Ok(())
}

/// `[+-]digits`, `[+-]digits.digits`, `[+-].digits` or `[+-]digits.`, as a number.
fn gpos_float(s: &[u8]) -> Option<f64> {
    let unsigned = match s.first() {
        Some(b'+' | b'-') => s.get(1..)?,
        Some(_) => s,
        None => return None,
    };
    let digits = |p: &[u8]| p.iter().all(u8::is_ascii_digit);
    let mut parts = unsigned.split(|&b| b == b'.');
    let ok = match (parts.next(), parts.next(), parts.next()) {
        (Some(int), None, None) => !int.is_empty() && digits(int),
        (Some(int), Some(frac), None) => {
            !(int.is_empty() && frac.is_empty()) && digits(int) && digits(frac)
        }
        _ => false,
    };
    if !ok {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// `flags tag "value"`; the tag must be non-empty ASCII letters and digits.
fn fmt_caa(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    let flags = src.u8()?;
    let tag = src.counted()?;
    if tag.is_empty() || !tag.iter().all(u8::is_ascii_alphanumeric) {
        return Err(src.bad());
    }
    num(out, flags);
    out.push(' ');
    push_escaped(out, tag);
    out.push(' ');
    push_quoted(out, src.rest());
    Ok(())
}

/// `priority weight "target"`; the target must not be empty.
fn fmt_uri(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    num(out, src.u16()?);
    sp_num(out, src.u16()?);
    let target = src.rest();
    if target.is_empty() {
        return Err(src.bad());
    }
    out.push(' ');
    push_quoted(out, target);
    Ok(())
}

/// dsbase.DSBase: `key_tag algorithm digest_type HEX`, with the digest length checked
/// for the digest types dnspython knows (CDS also allows the delete form, type 0 length 1).
fn fmt_ds(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    let key_tag = src.u16()?;
    let alg = src.u8()?;
    let digest_type = src.u8()?;
    let digest = src.rest();
    let expected = match digest_type {
        0 if src.rtype == rtype::CDS => Some(1),
        0 => return Err(src.bad()),
        1 => Some(20),
        2 | 3 => Some(32),
        4 => Some(48),
        _ => None,
    };
    if expected.is_some_and(|n| n != digest.len()) {
        return Err(src.bad());
    }
    nums_then_space(out, &[key_tag.into(), alg.into(), digest_type.into()]);
    push_hex(out, digest);
    Ok(())
}

/// dnskeybase.DNSKEYBase: `flags protocol algorithm BASE64`.
fn fmt_dnskey(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    let flags = src.u16()?;
    let protocol = src.u8()?;
    let alg = src.u8()?;
    nums_then_space(out, &[flags.into(), protocol.into(), alg.into()]);
    push_base64(out, src.rest());
    Ok(())
}

/// rrsigbase.RRSIGBase: `covered alg labels ttl expiration inception tag signer BASE64`.
fn fmt_rrsig(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    out.push_str(&type_name(src.u16()?));
    sp_num(out, src.u8()?);
    sp_num(out, src.u8()?);
    sp_num(out, src.u32()?);
    out.push(' ');
    push_sigtime(out, src.u32()?);
    out.push(' ');
    push_sigtime(out, src.u32()?);
    sp_num(out, src.u16()?);
    sp_name(src, out)?;
    out.push(' ');
    push_base64(out, src.rest());
    Ok(())
}

/// util.Bitmap: for each window, a space and the mnemonics of its types. Windows must be
/// strictly increasing, 1..=32 bytes long, with a non-zero last byte (RFC 4034 4.1.2).
fn fmt_bitmap(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    let mut last_window: Option<u8> = None;
    while src.remaining() > 0 {
        let window = src.u8()?;
        let bits = src.counted()?;
        let ordered = last_window.is_none_or(|w| window > w);
        if !ordered || bits.is_empty() || bits.len() > 32 || bits.last() == Some(&0) {
            return Err(src.bad());
        }
        last_window = Some(window);
        for (i, &byte) in bits.iter().enumerate() {
            for bit in 0..8u16 {
                if byte & (0x80 >> bit) != 0 {
                    let t = u16::from(window) << 8 | (i as u16) << 3 | bit; // i < 32
                    out.push(' ');
                    out.push_str(&type_name(t));
                }
            }
        }
    }
    Ok(())
}

/// `algorithm flags iterations SALT` shared by NSEC3 and NSEC3PARAM (`-` for no salt).
fn fmt_nsec3_salt_prefix(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    num(out, src.u8()?);
    sp_num(out, src.u8()?);
    sp_num(out, src.u16()?);
    out.push(' ');
    let salt = src.counted()?;
    if salt.is_empty() {
        out.push('-');
    } else {
        push_hex(out, salt);
    }
    Ok(())
}

/// `alg flags iterations SALT next-hashed-owner types`; the hash is base32hex, lower case,
/// unpadded, and must not be empty.
fn fmt_nsec3(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    fmt_nsec3_salt_prefix(src, out)?;
    let next = src.counted()?;
    if next.is_empty() {
        return Err(src.bad());
    }
    out.push(' ');
    push_base32hex(out, next);
    fmt_bitmap(src, out)
}

/// `serial scheme hash-algorithm HEX` with RFC 8976's checks as dnspython makes them.
fn fmt_zonemd(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    let serial = src.u32()?;
    let scheme = src.u8()?;
    let alg = src.u8()?;
    let digest = src.rest();
    let expected = match alg {
        1 => Some(48),
        2 => Some(64),
        _ => None,
    };
    if scheme == 0 || alg == 0 || digest.len() < 12 || expected.is_some_and(|n| n != digest.len()) {
        return Err(src.bad());
    }
    nums_then_space(out, &[serial, scheme.into(), alg.into()]);
    push_hex(out, digest);
    Ok(())
}

/// tlsabase.TLSABase: `usage selector mtype HEX` (SHA-256 and SHA-512 lengths checked).
fn fmt_tlsa(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    let [usage, selector, mtype] = src.array()?;
    let data = src.rest();
    let expected = match mtype {
        1 => Some(32),
        2 => Some(64),
        _ => None,
    };
    if expected.is_some_and(|n| n != data.len()) {
        return Err(src.bad());
    }
    nums_then_space(out, &[usage.into(), selector.into(), mtype.into()]);
    push_hex(out, data);
    Ok(())
}

/// `algorithm fp-type HEX` (SHA-1 and SHA-256 lengths checked).
fn fmt_sshfp(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    let [alg, fp_type] = src.array()?;
    let fp = src.rest();
    let expected = match fp_type {
        1 => Some(20),
        2 => Some(32),
        _ => None,
    };
    if expected.is_some_and(|n| n != fp.len()) {
        return Err(src.bad());
    }
    nums_then_space(out, &[alg.into(), fp_type.into()]);
    push_hex(out, fp);
    Ok(())
}

/// `type key-tag algorithm BASE64`, type and algorithm as mnemonics where dnspython has one.
fn fmt_cert(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    let ctype = src.u16()?;
    let key_tag = src.u16()?;
    let alg = src.u8()?;
    match cert_type_name(ctype) {
        Some(n) => out.push_str(n),
        None => num(out, ctype),
    }
    sp_num(out, key_tag);
    out.push(' ');
    match algorithm_name(alg) {
        Some(n) => out.push_str(n),
        None => num(out, alg),
    }
    out.push(' ');
    push_base64(out, src.rest());
    Ok(())
}

/// CERT type mnemonics (`dns.rdtypes.ANY.CERT`), for printing and for scanning.
const CERT_TYPES: &[(u16, &str)] = &[
    (1, "PKIX"),
    (2, "SPKI"),
    (3, "PGP"),
    (4, "IPKIX"),
    (5, "ISPKI"),
    (6, "IPGP"),
    (7, "ACPKIX"),
    (8, "IACPKIX"),
    (253, "URI"),
    (254, "OID"),
];

/// DNSSEC algorithm mnemonics (`dns.dnssectypes.Algorithm`), for printing and for scanning.
const ALGORITHMS: &[(u8, &str)] = &[
    (1, "RSAMD5"),
    (2, "DH"),
    (3, "DSA"),
    (4, "ECC"),
    (5, "RSASHA1"),
    (6, "DSANSEC3SHA1"),
    (7, "RSASHA1NSEC3SHA1"),
    (8, "RSASHA256"),
    (10, "RSASHA512"),
    (12, "ECCGOST"),
    (13, "ECDSAP256SHA256"),
    (14, "ECDSAP384SHA384"),
    (15, "ED25519"),
    (16, "ED448"),
    (18, "MLDSA44"),
    (252, "INDIRECT"),
    (253, "PRIVATEDNS"),
    (254, "PRIVATEOID"),
];

fn cert_type_name(v: u16) -> Option<&'static str> {
    CERT_TYPES.iter().find(|&&(n, _)| n == v).map(|&(_, s)| s)
}

fn algorithm_name(v: u8) -> Option<&'static str> {
    ALGORITHMS.iter().find(|&&(n, _)| n == v).map(|&(_, s)| s)
}

/// The CERT type of a mnemonic (any case), the inverse of what [`fmt_cert`] prints.
pub(crate) fn cert_type_from_name(s: &str) -> Option<u16> {
    CERT_TYPES
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(s))
        .map(|&(v, _)| v)
}

/// The DNSSEC algorithm of a mnemonic (any case).
pub(crate) fn algorithm_from_name(s: &str) -> Option<u8> {
    ALGORITHMS
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(s))
        .map(|&(v, _)| v)
}

/// EUI-48/EUI-64: hex byte pairs joined by `-`.
fn fmt_eui(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    let len = if src.rtype == rtype::EUI48 { 6 } else { 8 };
    for (i, b) in src.bytes(len)?.iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        push_hex(out, &[*b]);
    }
    Ok(())
}

/// Eight bytes as four `:`-separated groups of four hex digits (L64, NID).
fn fmt_hex_groups(out: &mut String, bytes: &[u8; 8]) {
    for (i, pair) in bytes.chunks(2).enumerate() {
        if i > 0 {
            out.push(':');
        }
        push_hex(out, pair);
    }
}

/// `address protocol port...` (a trailing space if no port is set, as dnspython prints).
fn fmt_wks(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    push_ipv4(out, src.array()?);
    sp_num(out, src.u8()?);
    out.push(' ');
    let bitmap = src.rest();
    if bitmap.len() > 8192 {
        return Err(src.bad());
    }
    let mut first = true;
    for (i, &byte) in bitmap.iter().enumerate() {
        for bit in 0..8 {
            if byte & (0x80 >> bit) != 0 {
                if !first {
                    out.push(' ');
                }
                first = false;
                num(out, i * 8 + bit);
            }
        }
    }
    Ok(())
}

/// APL items `[!]family:address/prefix` separated by spaces. Address bytes must not end in
/// a zero byte (RFC 3123 4.1); families 1 and 2 print as IP addresses, others as hex.
fn fmt_apl(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    let mut first = true;
    while src.remaining() > 0 {
        let family = src.u16()?;
        let prefix = src.u8()?;
        let n = src.u8()?;
        let addr = src.bytes(usize::from(n & 0x7f))?;
        if addr.last() == Some(&0) {
            return Err(src.bad());
        }
        if !first {
            out.push(' ');
        }
        first = false;
        if n & 0x80 != 0 {
            out.push('!');
        }
        let _ = write!(out, "{family}:");
        match family {
            1 | 2 => {
                let (max_len, max_prefix) = if family == 1 { (4, 32) } else { (16, 128) };
                if addr.len() > max_len || prefix > max_prefix {
                    return Err(src.bad());
                }
                let mut full = [0u8; 16];
                if let Some(dst) = full.get_mut(..addr.len()) {
                    dst.copy_from_slice(addr);
                }
                if family == 1 {
                    push_ipv4(out, [full[0], full[1], full[2], full[3]]);
                } else {
                    push_ipv6(out, full);
                }
            }
            _ => push_hex(out, addr),
        }
        let _ = write!(out, "/{prefix}");
    }
    Ok(())
}

fn push_gateway(out: &mut String, gateway: Gateway<'_>) {
    match gateway {
        Gateway::None => out.push('.'),
        Gateway::V4(a) => push_ipv4(out, a),
        Gateway::V6(a) => push_ipv6(out, a),
        Gateway::Name(n) => push_labels_text(out, n.labels()),
    }
}

/// `precedence gateway-type algorithm gateway BASE64`.
fn fmt_ipseckey(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    let [precedence, gtype, alg] = src.array()?;
    let _ = write!(out, "{precedence} {gtype} {alg} ");
    let gateway = read_gateway(src, gtype)?;
    push_gateway(out, gateway);
    out.push(' ');
    push_base64(out, src.rest());
    Ok(())
}

/// `precedence discovery-optional relay-type relay`.
fn fmt_amtrelay(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    let [precedence, d_type] = src.array()?;
    let relay_type = d_type & 0x7f;
    let _ = write!(out, "{precedence} {} {relay_type} ", d_type >> 7);
    let relay = read_gateway(src, relay_type)?;
    push_gateway(out, relay);
    Ok(())
}

/// `algorithm HIT-HEX KEY-BASE64 [servers...]`.
fn fmt_hip(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    let hit_len = src.u8()?;
    let alg = src.u8()?;
    let key_len = src.u16()?;
    let hit = src.bytes(usize::from(hit_len))?;
    let key = src.bytes(usize::from(key_len))?;
    num(out, alg);
    out.push(' ');
    push_hex(out, hit);
    out.push(' ');
    push_base64(out, key);
    while src.remaining() > 0 {
        sp_name(src, out)?;
    }
    Ok(())
}

/// `rrtype scheme port target` (scheme 1 is `NOTIFY`).
fn fmt_dsync(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    out.push_str(&type_name(src.u16()?));
    match src.u8()? {
        1 => out.push_str(" NOTIFY"),
        scheme => sp_num(out, scheme),
    }
    sp_num(out, src.u16()?);
    sp_name(src, out)
}
