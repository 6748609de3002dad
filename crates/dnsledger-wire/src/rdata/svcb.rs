//! SVCB and HTTPS (RFC 9460) presentation, as dnspython's `SVCBBase.to_text` writes it:
//! `priority target key="value" key ...`, every value quoted, keys in wire order (which
//! must be strictly increasing).

use std::fmt::Write as _;

use super::Src;
use crate::name::Compression;
use crate::text::{push_base64, push_escaped, push_ipv4, push_ipv6, push_labels_text};
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

/// dnspython's `key_to_text`: the registered names, `keyNNNNN` otherwise.
fn push_key(out: &mut String, key: u16) {
    let name = match key {
        MANDATORY => "mandatory",
        ALPN => "alpn",
        NO_DEFAULT_ALPN => "no-default-alpn",
        PORT => "port",
        IPV4HINT => "ipv4hint",
        ECH => "ech",
        IPV6HINT => "ipv6hint",
        7 => "dohpath",
        OHTTP => "ohttp",
        DOCPATH => "docpath",
        _ => {
            let _ = write!(out, "key{key}");
            return;
        }
    };
    out.push_str(name);
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
