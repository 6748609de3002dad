//! SVCB and HTTPS (RFC 9460) presentation, as dnspython's `SVCBBase.to_text` writes it:
//! `priority target key="value" key ...`, every value quoted, keys in wire order (which
//! must be strictly increasing).

use std::fmt::Write as _;

use super::scan::Scanner;
use super::Src;
use crate::name::Compression;
use crate::text::{
    base64_into, parse_decimal, parse_ipv4, parse_ipv6, push_base64, push_escaped, push_ipv4,
    push_ipv6, push_labels_text, unescape_into,
};
use crate::WireError;

const MANDATORY: u16 = 0;
const ALPN: u16 = 1;
const NO_DEFAULT_ALPN: u16 = 2;
const PORT: u16 = 3;
const IPV4HINT: u16 = 4;
const ECH: u16 = 5;
const IPV6HINT: u16 = 6;
const OHTTP: u16 = 8;
const DOCPATH: u16 = 10;

pub(super) fn fmt_svcb(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    let priority = src.u16()?;
    let target = src.name(Compression::Forbidden)?;
    let params = src.rest();
    // AliasMode (priority 0) carries no parameters.
    if priority == 0 && !params.is_empty() {
        return Err(src.bad());
    }
    check_params(params).ok_or(src.bad())?;
    let _ = write!(out, "{priority} ");
    push_labels_text(out, target.labels());
    for (key, value) in Params(params) {
        out.push(' ');
        push_param(out, key, value);
    }
    Ok(())
}

/// The (key, value) pairs of a parameter list; stops at the first truncated pair, which
/// [`check_params`] has already refused.
struct Params<'a>(&'a [u8]);

impl<'a> Iterator for Params<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<(u16, &'a [u8])> {
        let (head, rest) = self.0.split_first_chunk::<4>()?;
        let [k0, k1, l0, l1] = *head;
        let key = u16::from_be_bytes([k0, k1]);
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        let value = rest.get(..len)?;
        self.0 = rest.get(len..)?;
        Some((key, value))
    }
}

/// Everything dnspython checks: well-formed pairs, strictly increasing keys, each value
/// valid for its key, mandatory keys present, no-default-alpn only together with alpn.
fn check_params(params: &[u8]) -> Option<()> {
    let mut consumed = 0usize;
    let mut last_key: Option<u16> = None;
    let mut has_alpn = false;
    let mut has_no_default_alpn = false;
    let mut mandatory: &[u8] = &[];
    for (key, value) in Params(params) {
        consumed += 4 + value.len();
        if last_key.is_some_and(|k| key <= k) {
            return None;
        }
        last_key = Some(key);
        check_value(key, value)?;
        match key {
            ALPN => has_alpn = true,
            NO_DEFAULT_ALPN => has_no_default_alpn = true,
            MANDATORY => mandatory = value,
            _ => {}
        }
    }
    if consumed != params.len() || (has_no_default_alpn && !has_alpn) {
        return None;
    }
    mandatory_keys_present(mandatory, params)
}

fn check_value(key: u16, value: &[u8]) -> Option<()> {
    let ok = match key {
        MANDATORY => check_mandatory(value),
        ALPN => !value.is_empty() && check_id_list(value),
        NO_DEFAULT_ALPN | OHTTP => value.is_empty(),
        PORT => value.len() == 2,
        IPV4HINT => !value.is_empty() && value.len().is_multiple_of(4),
        IPV6HINT => !value.is_empty() && value.len().is_multiple_of(16),
        // An ECHConfigList: a 16-bit length covering the rest, at least 4 bytes of it.
        ECH => {
            value.len() >= 6
                && value
                    .first_chunk::<2>()
                    .map(|h| usize::from(u16::from_be_bytes(*h)))
                    == Some(value.len() - 2)
        }
        DOCPATH => check_id_list(value),
        _ => true,
    };
    ok.then_some(())
}

/// A non-empty list of strictly increasing keys, without `mandatory` itself.
fn check_mandatory(value: &[u8]) -> bool {
    if value.is_empty() || !value.len().is_multiple_of(2) {
        return false;
    }
    let mut last: Option<u16> = None;
    for pair in value.chunks_exact(2) {
        let key = be16(pair);
        if key == MANDATORY || last.is_some_and(|k| key <= k) {
            return false;
        }
        last = Some(key);
    }
    true
}

/// Length-prefixed strings that fill the value exactly, none of them empty.
fn check_id_list(mut value: &[u8]) -> bool {
    while let Some((&len, rest)) = value.split_first() {
        let len = usize::from(len);
        if len == 0 || rest.len() < len {
            return false;
        }
        value = rest.get(len..).unwrap_or_default();
    }
    true
}

/// Every key listed in `mandatory` appears in `params`. Both lists are sorted, so one merge
/// pass suffices (a quadratic check would let one rdata cost millions of steps).
fn mandatory_keys_present(mandatory: &[u8], params: &[u8]) -> Option<()> {
    let mut present = Params(params).map(|(k, _)| k).peekable();
    for pair in mandatory.chunks_exact(2) {
        let wanted = be16(pair);
        while present.next_if(|&k| k < wanted).is_some() {}
        present.next_if_eq(&wanted)?;
    }
    Some(())
}

/// The registered key names dnspython knows (`ParamKey`), for printing and scanning.
const KEY_NAMES: &[(u16, &str)] = &[
    (MANDATORY, "mandatory"),
    (ALPN, "alpn"),
    (NO_DEFAULT_ALPN, "no-default-alpn"),
    (PORT, "port"),
    (IPV4HINT, "ipv4hint"),
    (ECH, "ech"),
    (IPV6HINT, "ipv6hint"),
    (7, "dohpath"),
    (OHTTP, "ohttp"),
    (DOCPATH, "docpath"),
];

/// dnspython's `key_to_text`: the registered names, `keyNNNNN` otherwise.
fn push_key(out: &mut String, key: u16) {
    match KEY_NAMES.iter().find(|&&(k, _)| k == key) {
        Some(&(_, name)) => out.push_str(name),
        None => {
            let _ = write!(out, "key{key}");
        }
    }
}

/// dnspython's `ParamKey.make`: a registered name in any case (`_` for `-` too) or
/// `keyNNNNN`.
fn key_from_text(text: &[u8]) -> Result<u16, WireError> {
    let same = |name: &str| {
        name.len() == text.len()
            && name
                .bytes()
                .zip(text)
                .all(|(n, &t)| n.eq_ignore_ascii_case(&t) || (n == b'-' && t == b'_'))
    };
    if let Some(&(key, _)) = KEY_NAMES.iter().find(|(_, name)| same(name)) {
        return Ok(key);
    }
    text.get(..3)
        .filter(|p| p.eq_ignore_ascii_case(b"key"))
        .and_then(|_| std::str::from_utf8(text.get(3..)?).ok())
        .and_then(parse_decimal)
        .and_then(|v| u16::try_from(v).ok())
        .ok_or(WireError::BadText("unknown SvcParam key"))
}

/// `key` alone for an empty value, `key="value"` otherwise; the value is validated.
fn push_param(out: &mut String, key: u16, value: &[u8]) {
    push_key(out, key);
    if value.is_empty() {
        return;
    }
    out.push_str("=\"");
    match key {
        MANDATORY => {
            for (i, pair) in value.chunks_exact(2).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_key(out, be16(pair));
            }
        }
        ALPN | DOCPATH => push_id_list(out, value),
        PORT => {
            if let Some(p) = value.first_chunk::<2>() {
                let _ = write!(out, "{}", u16::from_be_bytes(*p));
            }
        }
        IPV4HINT => {
            for (i, a) in value.chunks_exact(4).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(a) = a.first_chunk::<4>() {
                    push_ipv4(out, *a);
                }
            }
        }
        IPV6HINT => {
            for (i, a) in value.chunks_exact(16).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(a) = a.first_chunk::<16>() {
                    push_ipv6(out, *a);
                }
            }
        }
        ECH => push_base64(out, value),
        _ => push_escaped(out, value),
    }
    out.push('"');
}

/// The ids joined by `,` after escaping `,` and `\` inside an id with a backslash, then the
/// whole escaped again as a quoted string (so an id `a,b` prints as `a\\,b`).
fn push_id_list(out: &mut String, mut value: &[u8]) {
    let mut first = true;
    while let Some((&len, rest)) = value.split_first() {
        let (id, tail) = rest.split_at(usize::from(len).min(rest.len()));
        value = tail;
        if !first {
            out.push(',');
        }
        first = false;
        for &b in id {
            match b {
                b',' => out.push_str("\\\\,"),
                b'\\' => out.push_str("\\\\\\\\"),
                _ => push_escaped(out, &[b]),
            }
        }
    }
}

/// A big-endian u16 from a 2-byte chunk (0 for anything else, which callers never pass).
fn be16(pair: &[u8]) -> u16 {
    pair.first_chunk().map_or(0, |p| u16::from_be_bytes(*p))
}

/// dnspython's `SVCBBase.from_text`: `priority target key[=value]...`, a value quoted and
/// glued to its `=` or unquoted. Keys are sorted (a repeated key is an error); the checks
/// of [`check_params`] follow when the caller formats the result.
pub(super) fn scan_svcb(sc: &mut Scanner<'_>) -> Result<(), WireError> {
    sc.u16()?;
    sc.name()?;
    let mut params: Vec<(u16, Vec<u8>)> = Vec::new();
    while let Some(tok) = sc.next_token() {
        if tok.quoted {
            return Err(WireError::BadText("SvcParam without a key"));
        }
        let (key, value) = match tok.text.split_once('=') {
            None => (tok.text, ""),
            Some(("", _)) => return Err(WireError::BadText("SvcParam without a key")),
            Some((key, "")) => match sc.next_token() {
                Some(v) if v.quoted && v.glued => (key, v.text),
                _ => return Err(WireError::BadText("SvcParam `key=` without a value")),
            },
            Some((key, value)) => (key, value),
        };
        let key = key_from_text(key.as_bytes())?;
        params.push((key, scan_value(key, value)?));
    }
    params.sort_by_key(|&(key, _)| key);
    if params.windows(2).any(|w| matches!(w, [a, b] if a.0 == b.0)) {
        return Err(WireError::BadText("repeated SvcParam key"));
    }
    for (key, value) in params {
        let len = u16::try_from(value.len()).map_err(|_| sc.bad())?;
        sc.out.extend_from_slice(&key.to_be_bytes());
        sc.out.extend_from_slice(&len.to_be_bytes());
        sc.out.extend_from_slice(&value);
    }
    Ok(())
}

/// The wire value of `key` from its text (escapes still in). A bare key or `key=""` is an
/// empty value for every key; the keys that need one are refused by [`check_value`].
fn scan_value(key: u16, text: &str) -> Result<Vec<u8>, WireError> {
    let mut value = Vec::new();
    match key {
        _ if text.is_empty() => {}
        MANDATORY => {
            let mut keys = Vec::new();
            for item in split_list(text)? {
                keys.push(key_from_text(&item)?);
            }
            keys.sort_unstable();
            for k in keys {
                value.extend_from_slice(&k.to_be_bytes());
            }
        }
        ALPN | DOCPATH => {
            for id in split_list(text)? {
                let len = u8::try_from(id.len())
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or(WireError::BadText("bad SvcParam id: empty or too long"))?;
                value.push(len);
                value.extend_from_slice(&id);
            }
        }
        PORT => {
            let port = parse_decimal(text)
                .and_then(|v| u16::try_from(v).ok())
                .ok_or(WireError::BadText("bad port"))?;
            value.extend_from_slice(&port.to_be_bytes());
        }
        IPV4HINT | IPV6HINT => {
            for item in split_list(text)? {
                let item = std::str::from_utf8(&item)
                    .map_err(|_| WireError::BadText("bad address in a hint"))?;
                if key == IPV4HINT {
                    value.extend_from_slice(&parse_ipv4(item)?);
                } else {
                    value.extend_from_slice(&parse_ipv6(item)?);
                }
            }
        }
        ECH => {
            if text.contains('\\') {
                return Err(WireError::BadText("escape in an ech value"));
            }
            base64_into(text, &mut value)?;
        }
        _ => unescape_into(text, &mut value)?,
    }
    Ok(value)
}

/// dnspython's `_split(_unescape(value))`: the text unescaped, then split at commas that
/// are not preceded by a backslash (which escapes the next byte).
fn split_list(text: &str) -> Result<Vec<Vec<u8>>, WireError> {
    let mut raw = Vec::with_capacity(text.len());
    unescape_into(text, &mut raw)?;
    let mut items = Vec::new();
    let mut item = Vec::new();
    let mut bytes = raw.into_iter();
    while let Some(b) = bytes.next() {
        match b {
            b'\\' => item.push(
                bytes
                    .next()
                    .ok_or(WireError::BadText("backslash at end of a list"))?,
            ),
            b',' => items.push(std::mem::take(&mut item)),
            _ => item.push(b),
        }
    }
    items.push(item);
    Ok(items)
}
