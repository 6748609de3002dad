//! Presentation-text building blocks, each mirroring the dnspython function named in its
//! comment, so that the rdata formatter can be read side by side with dnspython.

use std::fmt::Write as _;

use base64::Engine as _;

use crate::name::{MAX_LABEL_LEN, MAX_NAME_LEN};
use crate::WireError;

/// Appends a name's presentation text (dnspython `Name.to_text`, `dns.name._escapify`):
/// every label followed by a dot, `.` for the root. `"().;\@$` are backslash-escaped,
/// other bytes outside 0x21..=0x7e become `\DDD`.
pub(crate) fn push_labels_text<'a>(out: &mut String, labels: impl Iterator<Item = &'a [u8]>) {
    let mut any = false;
    for label in labels {
        any = true;
        for &c in label {
            match c {
                b'"' | b'(' | b')' | b'.' | b';' | b'\\' | b'@' | b'$' => {
                    out.push('\\');
                    out.push(char::from(c));
                }
                0x21..=0x7e => out.push(char::from(c)),
                _ => push_ddd(out, c),
            }
        }
        out.push('.');
    }
    if !any {
        out.push('.');
    }
}

fn push_ddd(out: &mut String, c: u8) {
    let _ = write!(out, "\\{c:03}");
}

/// Parses a name's presentation text into canonical (lower-case) wire form. Relative names
/// are taken as absolute. Escapes: `\DDD` (three decimal digits, at most 255) and `\X`.
pub(crate) fn name_wire_from_text(s: &str) -> Result<Vec<u8>, WireError> {
    if s == "." {
        return Ok(vec![0]);
    }
    if s.is_empty() {
        return Err(WireError::BadText("empty name"));
    }
    let mut wire = Vec::with_capacity(s.len() + 2);
    let mut label_start = 0usize;
    wire.push(0); // length byte of the first label, patched when the label ends
    let mut bytes = s.bytes();
    let mut ended_with_dot = false;
    while let Some(c) = bytes.next() {
        ended_with_dot = false;
        let byte = match c {
            b'.' => {
                close_label(&mut wire, label_start)?;
                label_start = wire.len();
                wire.push(0);
                ended_with_dot = true;
                continue;
            }
            b'\\' => unescape(&mut bytes)?,
            c if c.is_ascii() => c,
            _ => return Err(WireError::BadText("non-ASCII character in name")),
        };
        wire.push(byte.to_ascii_lowercase());
    }
    if !ended_with_dot {
        close_label(&mut wire, label_start)?;
        wire.push(0);
    }
    if wire.len() > MAX_NAME_LEN {
        return Err(WireError::NameTooLong);
    }
    Ok(wire)
}

/// Parses a name's presentation text relative to `origin` (a canonical wire name), as
/// master files read names: `@` is the origin, a name ending in an unescaped dot is
/// absolute, any other is completed with the origin.
pub(crate) fn name_wire_from_text_in(s: &str, origin: &[u8]) -> Result<Vec<u8>, WireError> {
    if s == "@" {
        return Ok(origin.to_vec());
    }
    let mut wire = name_wire_from_text(s)?;
    if is_absolute(s) {
        return Ok(wire);
    }
    wire.pop(); // the root label; the origin brings its own
    wire.extend_from_slice(origin);
    if wire.len() > MAX_NAME_LEN {
        return Err(WireError::NameTooLong);
    }
    Ok(wire)
}

/// Whether name text ends with a dot that no backslash escapes (`a.` yes, `a\.` no,
/// `a\\.` yes).
fn is_absolute(s: &str) -> bool {
    let mut bytes = s.bytes();
    let mut last_was_dot = false;
    while let Some(c) = bytes.next() {
        last_was_dot = c == b'.';
        if c == b'\\' && bytes.next().is_some_and(|d| d.is_ascii_digit()) {
            bytes.next();
            bytes.next();
        }
    }
    last_was_dot
}

/// Patches the length byte of the label that starts at `label_start`.
fn close_label(wire: &mut [u8], label_start: usize) -> Result<(), WireError> {
    let len = wire.len() - label_start - 1;
    if len == 0 {
        return Err(WireError::EmptyLabel);
    }
    if len > MAX_LABEL_LEN {
        return Err(WireError::LabelTooLong);
    }
    if let Some(b) = wire.get_mut(label_start) {
        *b = len as u8; // <= 63
    }
    Ok(())
}

/// The byte an escape stands for; the backslash has been consumed.
fn unescape(bytes: &mut std::str::Bytes<'_>) -> Result<u8, WireError> {
    let first = bytes.next().ok_or(WireError::BadText("backslash at end"))?;
    if !first.is_ascii_digit() {
        return if first.is_ascii() {
            Ok(first)
        } else {
            Err(WireError::BadText("non-ASCII character after backslash"))
        };
    }
    let mut value = u32::from(first - b'0');
    for _ in 0..2 {
        match bytes.next() {
            Some(d) if d.is_ascii_digit() => value = value * 10 + u32::from(d - b'0'),
            _ => return Err(WireError::BadText("\\DDD escape needs three digits")),
        }
    }
    u8::try_from(value).map_err(|_| WireError::BadText("\\DDD escape above 255"))
}

/// Appends the bytes a character-string's text stands for (the inverse of [`push_escaped`],
/// dnspython `Token.unescape_to_bytes`): `\DDD` and `\X` escapes as in names; other
/// characters, non-ASCII included, as their UTF-8 bytes.
pub(crate) fn unescape_into(s: &str, out: &mut Vec<u8>) -> Result<(), WireError> {
    let mut bytes = s.bytes();
    while let Some(c) = bytes.next() {
        out.push(if c == b'\\' { unescape(&mut bytes)? } else { c });
    }
    Ok(())
}

/// Appends bytes escaped like dnspython's `dns.rdata._escapify` (without quotes): `"` and
/// `\` backslash-escaped, 0x20..=0x7e literal, everything else `\DDD`.
pub(crate) fn push_escaped(out: &mut String, bytes: &[u8]) {
    for &c in bytes {
        match c {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(c));
            }
            0x20..=0x7e => out.push(char::from(c)),
            _ => push_ddd(out, c),
        }
    }
}

/// A character-string in double quotes (TXT, HINFO, NAPTR, CAA value, URI target...).
pub(crate) fn push_quoted(out: &mut String, bytes: &[u8]) {
    out.push('"');
    push_escaped(out, bytes);
    out.push('"');
}

/// The lower-case digit of `v` in base `radix` (`v` is always masked below the radix).
fn digit(v: u32, radix: u32) -> char {
    char::from_digit(v, radix).unwrap_or('?')
}

/// Lower-case hex without separators (`binascii.hexlify`).
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(digit(u32::from(b >> 4), 16));
        out.push(digit(u32::from(b & 0x0f), 16));
    }
}

/// Standard base64 with padding, in one piece (dnspython with `chunksize=0`).
pub(crate) fn push_base64(out: &mut String, bytes: &[u8]) {
    base64::engine::general_purpose::STANDARD.encode_string(bytes, out);
}

/// RFC 4648 base32hex, lower case, without padding (dnspython NSEC3 next hashed owner).
/// The base32hex alphabet is exactly the digits of radix 32.
pub(crate) fn push_base32hex(out: &mut String, bytes: &[u8]) {
    let mut acc = 0u32;
    let mut bits = 0u32;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(digit((acc >> bits) & 0x1f, 32));
        }
        acc &= (1 << bits) - 1; // keep only the bits not yet printed
    }
    if bits > 0 {
        out.push(digit((acc << (5 - bits)) & 0x1f, 32));
    }
}

/// Appends the bytes of hex text (either case, even length; the inverse of [`push_hex`]).
pub(crate) fn hex_into(s: &str, out: &mut Vec<u8>) -> Result<(), WireError> {
    const BAD: WireError = WireError::BadText("bad hex");
    if !s.len().is_multiple_of(2) {
        return Err(BAD);
    }
    let nibble = |c: u8| char::from(c).to_digit(16).ok_or(BAD);
    for pair in s.as_bytes().chunks_exact(2) {
        if let [hi, lo] = *pair {
            out.push((nibble(hi)? << 4 | nibble(lo)?) as u8); // two nibbles
        }
    }
    Ok(())
}

/// Appends the bytes of standard base64 (the inverse of [`push_base64`]); the padding may be
/// left out, but unused trailing bits must be zero so that every byte string has one text.
pub(crate) fn base64_into(s: &str, out: &mut Vec<u8>) -> Result<(), WireError> {
    use base64::engine::{general_purpose, DecodePaddingMode, GeneralPurpose};
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        general_purpose::PAD.with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    ENGINE
        .decode_vec(s, out)
        .map_err(|_| WireError::BadText("bad base64"))
}

/// Appends the bytes of RFC 4648 base32hex text (either case, padding optional; the inverse
/// of [`push_base32hex`]). Unused trailing bits must be zero.
pub(crate) fn base32hex_into(s: &str, out: &mut Vec<u8>) -> Result<(), WireError> {
    const BAD: WireError = WireError::BadText("bad base32hex");
    let s = s.trim_end_matches('=');
    if !matches!(s.len() % 8, 0 | 2 | 4 | 5 | 7) {
        return Err(BAD);
    }
    let mut acc = 0u32;
    let mut bits = 0u32;
    for c in s.chars() {
        acc = (acc << 5) | c.to_digit(32).ok_or(BAD)?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8); // the 8 bits above the `bits` unused ones
            acc &= (1 << bits) - 1;
        }
    }
    if acc != 0 {
        return Err(BAD);
    }
    Ok(())
}

/// A decimal number of ASCII digits only (no sign, no spaces), as dnspython's `get_int`.
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.bytes().try_fold(0u64, |acc, c| {
        let d = char::from(c).to_digit(10)?;
        acc.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// A TTL as `dns.ttl.from_text` reads it: decimal seconds or BIND units (`1w2d3h4m5s`,
/// any case), at most 2^32 - 1.
pub fn parse_ttl(s: &str) -> Result<u32, WireError> {
    const BAD: WireError = WireError::BadText("bad TTL");
    let total = match parse_decimal(s) {
        Some(v) => v,
        None => {
            let (mut total, mut current, mut need_digit) = (0u64, 0u64, true);
            for c in s.chars() {
                if let Some(d) = c.to_digit(10) {
                    current = current
                        .checked_mul(10)
                        .and_then(|v| v.checked_add(u64::from(d)))
                        .ok_or(BAD)?;
                    need_digit = false;
                    continue;
                }
                let unit = match c.to_ascii_lowercase() {
                    'w' => 604_800,
                    'd' => 86_400,
                    'h' => 3600,
                    'm' => 60,
                    's' => 1,
                    _ => return Err(BAD),
                };
                if need_digit {
                    return Err(BAD);
                }
                total = current
                    .checked_mul(unit)
                    .and_then(|v| v.checked_add(total))
                    .ok_or(BAD)?;
                (current, need_digit) = (0, true);
            }
            if !need_digit || s.is_empty() {
                return Err(BAD); // a trailing number without a unit
            }
            total
        }
    };
    u32::try_from(total).map_err(|_| BAD)
}

/// A dotted quad, strictly (`dns.ipv4.inet_aton`: four decimal parts, no leading zeros).
pub(crate) fn parse_ipv4(s: &str) -> Result<[u8; 4], WireError> {
    s.parse::<std::net::Ipv4Addr>()
        .map(|a| a.octets())
        .map_err(|_| WireError::BadText("bad IPv4 address"))
}

/// An IPv6 address in any RFC 4291 text form (`::`, embedded IPv4, either case).
pub(crate) fn parse_ipv6(s: &str) -> Result<[u8; 16], WireError> {
    s.parse::<std::net::Ipv6Addr>()
        .map(|a| a.octets())
        .map_err(|_| WireError::BadText("bad IPv6 address"))
}

/// Dotted quad (`dns.ipv4.inet_ntoa`). Digits are pushed directly: `write!` costs several
/// times as much, and a sensor prints hundreds of thousands of addresses at once.
pub(crate) fn push_ipv4(out: &mut String, a: [u8; 4]) {
    for (index, octet) in a.into_iter().enumerate() {
        if index > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
}

/// IPv6 text exactly as `dns.ipv6.inet_ntoa` writes it: groups without leading zeros, the
/// first longest run of two or more zero groups as `::`, and the two embedded-IPv4 forms
/// `::a.b.c.d` (six leading zero groups) and `::ffff:a.b.c.d`.
pub(crate) fn push_ipv6(out: &mut String, a: [u8; 16]) {
    let mut groups = [0u16; 8];
    for (g, pair) in groups.iter_mut().zip(a.chunks_exact(2)) {
        *g = pair.first_chunk().map_or(0, |p| u16::from_be_bytes(*p));
    }
    let (best_start, best_len) = longest_zero_run(&groups);
    if best_len > 1 {
        let mapped = best_len == 5 && groups.get(5) == Some(&0xffff);
        if best_start == 0 && (best_len == 6 || mapped) {
            out.push_str(if best_len == 6 { "::" } else { "::ffff:" });
            let [.., a12, a13, a14, a15] = a;
            push_ipv4(out, [a12, a13, a14, a15]);
            return;
        }
        push_groups(out, groups.get(..best_start).unwrap_or_default());
        out.push_str("::");
        push_groups(out, groups.get(best_start + best_len..).unwrap_or_default());
    } else {
        push_groups(out, &groups);
    }
}

/// Start and length of the first longest run of zero groups (length 0 if none).
fn longest_zero_run(groups: &[u16; 8]) -> (usize, usize) {
    let (mut best_start, mut best_len) = (0usize, 0usize);
    let mut run_start = None;
    for i in 0..=groups.len() {
        let zero = groups.get(i) == Some(&0);
        match (zero, run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(start)) => {
                if i - start > best_len {
                    (best_start, best_len) = (start, i - start);
                }
                run_start = None;
            }
            _ => {}
        }
    }
    (best_start, best_len)
}

fn push_groups(out: &mut String, groups: &[u16]) {
    for (i, g) in groups.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        push_hex_group(out, *g);
    }
}

/// A group of an IPv6 address in lower-case hex without leading zeros (`{:x}`).
fn push_hex_group(out: &mut String, g: u16) {
    let digits = (u16::BITS - g.leading_zeros()).div_ceil(4).max(1);
    for shift in (0..digits).rev() {
        out.push(digit(u32::from(g >> (4 * shift)) & 0x0f, 16));
    }
}

/// RRSIG/SIG time as `YYYYMMDDHHMMSS` in UTC (dnspython `posixtime_to_sigtime`: the
/// 32-bit value taken as plain seconds since 1970, no serial-number arithmetic).
pub(crate) fn push_sigtime(out: &mut String, t: u32) {
    let days = i64::from(t / 86_400);
    let secs = t % 86_400;
    let (y, m, d) = civil_from_days(days);
    // A u32 of seconds lies in the years 1970 to 2106: always four digits.
    let year = u32::try_from(y).unwrap_or_default();
    for value in [
        year / 100,
        year % 100,
        m,
        d,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
    ] {
        push_two_digits(out, value);
    }
}

/// `value` (below 100) as two decimal digits.
fn push_two_digits(out: &mut String, value: u32) {
    out.push(digit(value / 10 % 10, 10));
    out.push(digit(value % 10, 10));
}

/// An RRSIG/SIG time (dnspython `sigtime_to_posixtime`): up to 10 digits are seconds since
/// 1970, 14 digits are `YYYYMMDDHHMMSS` in UTC. The date must be a real one: it is accepted
/// only if [`push_sigtime`] prints it back exactly.
pub(crate) fn parse_sigtime(s: &str) -> Result<u32, WireError> {
    const BAD: WireError = WireError::BadText("bad signature time");
    if s.len() <= 10 {
        return parse_decimal(s)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or(BAD);
    }
    if s.len() != 14 {
        return Err(BAD);
    }
    let field = |from: usize, to: usize| {
        s.get(from..to)
            .and_then(parse_decimal)
            .and_then(|v| i64::try_from(v).ok())
            .ok_or(BAD)
    };
    let days = days_from_civil(field(0, 4)?, field(4, 6)?, field(6, 8)?);
    let t = days * 86_400 + field(8, 10)? * 3600 + field(10, 12)? * 60 + field(12, 14)?;
    let t = u32::try_from(t).map_err(|_| BAD)?;
    let mut back = String::with_capacity(14);
    push_sigtime(&mut back, t);
    if back != s {
        return Err(BAD);
    }
    Ok(t)
}

/// Days since 1970-01-01 of a Gregorian date (Howard Hinnant's `days_from_civil`); any
/// month or day value gives some number, callers check the date prints back.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut String)) -> String {
        let mut s = String::new();
        f(&mut s);
        s
    }

    #[test]
    fn ipv4_text_is_the_standard_dotted_quad_for_every_octet() {
        for octet in 0..=255u8 {
            let a = [octet, 0, 255 - octet, octet / 3];
            let text = with(|s| push_ipv4(s, a));
            assert_eq!(text, std::net::Ipv4Addr::from(a).to_string());
        }
    }

    #[test]
    fn name_text_escapes() {
        let labels: [&[u8]; 3] = [b"a.b\\c\"d", b"(x);@$ \x7f\x00", b"Z"];
        let s = with(|s| push_labels_text(s, labels.into_iter()));
        assert_eq!(s, "a\\.b\\\\c\\\"d.\\(x\\)\\;\\@\\$\\032\\127\\000.Z.");
        assert_eq!(with(|s| push_labels_text(s, std::iter::empty())), ".");
    }

    #[test]
    fn ipv6_groups_print_as_lower_hex_without_leading_zeros() {
        for g in 0..=u16::MAX {
            assert_eq!(with(|s| push_hex_group(s, g)), format!("{g:x}"));
        }
    }

    #[test]
    fn name_from_text() {
        let ok: &[(&str, &[u8])] = &[
            (".", b"\x00"),
            ("com", b"\x03com\x00"),
            ("CoM.", b"\x03com\x00"),
            ("a\\.b.c", b"\x03a.b\x01c\x00"),
            ("\\065\\\\x.", b"\x03a\\x\x00"),
            ("\\000", b"\x01\x00\x00"),
        ];
        for (text, wire) in ok {
            assert_eq!(name_wire_from_text(text).as_deref(), Ok(*wire), "{text}");
        }
        let long_label = "a".repeat(64);
        let long_name = ["a".repeat(63).as_str(); 4].join(".");
        let bad: &[(&str, WireError)] = &[
            ("", WireError::BadText("empty name")),
            ("..", WireError::EmptyLabel),
            ("a..b", WireError::EmptyLabel),
            (".a", WireError::EmptyLabel),
            (&long_label, WireError::LabelTooLong),
            (&long_name, WireError::NameTooLong),
            ("a\\", WireError::BadText("backslash at end")),
            (
                "a\\25",
                WireError::BadText("\\DDD escape needs three digits"),
            ),
            ("a\\256", WireError::BadText("\\DDD escape above 255")),
            ("é.com", WireError::BadText("non-ASCII character in name")),
        ];
        for (text, err) in bad {
            assert_eq!(name_wire_from_text(text), Err(*err), "{text}");
        }
        // 255 bytes exactly is fine.
        let max = [
            "a".repeat(63).as_str(),
            &"a".repeat(63),
            &"a".repeat(63),
            &"a".repeat(61),
        ]
        .join(".");
        assert_eq!(name_wire_from_text(&max).map(|w| w.len()), Ok(255));
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(with(|s| push_quoted(s, b"")), "\"\"");
        assert_eq!(
            with(|s| push_quoted(s, b"a \"b\" \\ \x01\xff;")),
            "\"a \\\"b\\\" \\\\ \\001\\255;\""
        );
    }

    #[test]
    fn encodings() {
        assert_eq!(with(|s| push_hex(s, &[0x00, 0xab, 0xff])), "00abff");
        assert_eq!(with(|s| push_base64(s, b"hello")), "aGVsbG8=");
        for (input, want) in [
            (&b""[..], ""),
            (b"f", "co"),
            (b"fo", "cpng"),
            (b"foo", "cpnmu"),
            (b"foob", "cpnmuog"),
            (b"fooba", "cpnmuoj1"),
            (b"foobar", "cpnmuoj1e8"),
        ] {
            assert_eq!(with(|s| push_base32hex(s, input)), want, "{input:?}");
        }
    }

    #[test]
    fn ipv6_like_dnspython() {
        let cases: &[(&str, &str)] = &[
            ("20010db8000000000000000000000001", "2001:db8::1"),
            ("00000000000000000000000000000000", "::"),
            ("00000000000000000000000000000001", "::1"),
            ("00000000000000000000ffff01020304", "::ffff:1.2.3.4"),
            ("00000000000000000000000001020304", "::1.2.3.4"),
            ("20010db8000000010000000000000000", "2001:db8:0:1::"),
            ("20010db8000000010001000100010001", "2001:db8:0:1:1:1:1:1"),
            ("20010000000000010000000000000001", "2001:0:0:1::1"),
            ("20010000000000010000000000010001", "2001::1:0:0:1:1"),
            ("0000000000000000000000000001ffff", "::0.1.255.255"),
            ("fe800000000000000000000000000000", "fe80::"),
            ("00010000000000000000ffff01020304", "1::ffff:102:304"),
        ];
        for (hex, want) in cases {
            let v: Vec<u8> = (0..16)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            let a: [u8; 16] = v.try_into().unwrap();
            assert_eq!(with(|s| push_ipv6(s, a)), *want, "{hex}");
        }
    }

    #[test]
    fn decoders_invert_encoders() {
        let mut x = 0x1234_5678_u32;
        for len in 0..40usize {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            type Encode = fn(&mut String, &[u8]);
            type Decode = fn(&str, &mut Vec<u8>) -> Result<(), WireError>;
            let codecs: [(Encode, Decode, bool); 3] = [
                (push_hex, hex_into, true),
                (push_base64, base64_into, false),
                (push_base32hex, base32hex_into, true),
            ];
            for (encode, decode, any_case) in codecs {
                let text = with(|s| encode(s, &bytes));
                let mut back = Vec::new();
                assert_eq!(decode(&text, &mut back), Ok(()), "{text}");
                assert_eq!(back, bytes, "{text}");
                if any_case {
                    back.clear();
                    assert_eq!(decode(&text.to_ascii_uppercase(), &mut back), Ok(()));
                    assert_eq!(back, bytes, "{text} in upper case");
                }
            }
        }
        let mut out = Vec::new();
        assert_eq!(hex_into("ABcd", &mut out), Ok(()));
        assert_eq!(out, [0xab, 0xcd]);
        assert!(hex_into("abc", &mut out).is_err());
        assert!(hex_into("zz", &mut out).is_err());
        assert!(base32hex_into("CPNMUOJ1E8======", &mut out).is_ok());
        for bad in ["c", "cpn", "cpnmuoj", "cp", "w0"] {
            assert!(base32hex_into(bad, &mut Vec::new()).is_err(), "{bad}");
        }
        assert!(base64_into("aGVsbG8", &mut Vec::new()).is_ok()); // padding optional
        assert!(base64_into("aGVsbG9=", &mut Vec::new()).is_err()); // trailing bits
        let mut s = Vec::new();
        assert_eq!(unescape_into(r#"a\"b\\\065\255é"#, &mut s), Ok(()));
        assert_eq!(s, b"a\"b\\A\xff\xc3\xa9");
    }

    #[test]
    fn numbers_and_ttls() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
        for bad in ["", "18446744073709551616", "+1", "-1", "1 ", "1e3", "٣"] {
            assert_eq!(parse_decimal(bad), None, "{bad}");
        }
        let ok = [
            ("3600", 3600),
            ("1h", 3600),
            ("1W2d3H4m5S", 604_800 + 2 * 86_400 + 3 * 3600 + 4 * 60 + 5),
            ("4294967295", u32::MAX),
        ];
        for (text, want) in ok {
            assert_eq!(parse_ttl(text), Ok(want), "{text}");
        }
        for bad in ["", "h", "1h2", "1x", "4294967296", "7102w", "1hh"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sigtimes_parse_back() {
        let mut t = 1u32;
        for _ in 0..2000 {
            t = t.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let text = with(|s| push_sigtime(s, t));
            assert_eq!(parse_sigtime(&text), Ok(t), "{text}");
            assert_eq!(parse_sigtime(&t.to_string()), Ok(t));
        }
        for bad in [
            "20250230000000", // 30 February
            "20251301000000",
            "20250101240000",
            "20250101006000",
            "19691231235959",
            "21060207062816", // 2^32
            "4294967296",
            "2025010100000",
            "2025-01-01T000",
            "",
        ] {
            assert!(parse_sigtime(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sigtimes() {
        for (t, want) in [
            (0u32, "19700101000000"),
            (1_735_689_600, "20250101000000"),
            (2_051_222_400, "20350101000000"),
            (951_782_400, "20000229000000"),
            (u32::MAX, "21060207062815"),
            (1_709_210_096, "20240229123456"),
        ] {
            assert_eq!(with(|s| push_sigtime(s, t)), want, "{t}");
        }
    }
}
