//! Key encoding, exactly as `docs/encoding.md` specifies it.

use dnsledger_rrset::{RRset, RRsetParts};
use dnsledger_wire::{is_dnssec_type, rtype};

/// Where a row came from; the last byte of every row key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    Sensor = 0,
    ZoneFile = 1,
}

impl Source {
    pub fn from_byte(byte: u8) -> Option<Source> {
        match byte {
            0 => Some(Source::Sensor),
            1 => Some(Source::ZoneFile),
            _ => None,
        }
    }
}

/// Marks a bailiwick-less (client-side) RRset where `rname(bailiwick)` would stand; never a
/// valid label length.
pub const NO_BAILIWICK: u8 = 0xff;

/// The kinds of rdata index.
pub mod kind {
    pub const IPV4: u8 = 0x01;
    pub const IPV6: u8 = 0x02;
    pub const NAME: u8 = 0x03;
    pub const RAW: u8 = 0x04;
}

/// The labels of a canonical wire name, leaf first; stops at the root or at damage.
fn labels(wire: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = wire;
    std::iter::from_fn(move || {
        let (&len, after) = rest.split_first()?;
        if len == 0 || len > 63 {
            return None;
        }
        let (label, next) = after.split_at_checked(usize::from(len))?;
        rest = next;
        Some(label)
    })
}

/// Appends `rname`: labels root first, length-prefixed, terminated by 0.
pub fn push_rname(out: &mut Vec<u8>, wire: &[u8]) {
    push_rname_prefix(out, wire);
    out.push(0);
}

/// `rname` without its terminator: the prefix of the name and everything below it.
pub fn push_rname_prefix(out: &mut Vec<u8>, wire: &[u8]) {
    push_labels_reversed(out, &wire[..labels_end(wire)]);
}

/// The most labels a name has: 127 one-byte labels fill the 255 bytes of a wire name.
const MAX_LABELS: usize = 127;

/// Where the labels of a wire name end (before its root label); stops where [`labels`]
/// does, after [`MAX_LABELS`], and at the 255 bytes a name has at most.
fn labels_end(wire: &[u8]) -> usize {
    let mut end = 0usize;
    for label in labels(wire).take(MAX_LABELS) {
        if end > usize::from(u8::MAX) {
            break;
        }
        end += 1 + label.len();
    }
    end
}

/// Appends the length-prefixed labels of `run` in reverse order: the step that turns a
/// wire name into an `rname` and back. Each label is copied once, straight to its mirrored
/// place: key building runs several times per written row and key decoding once per row
/// read, and a stack of label offsets (zeroed at every call) with an append per label cost
/// more than the copying (`docs/BENCHMARKS.md`, store run 15). `run` is whole labels, as
/// the callers walked it; a label running past its end stops the copy.
fn push_labels_reversed(out: &mut Vec<u8>, run: &[u8]) {
    let base = out.len();
    out.resize(base + run.len(), 0);
    let mirrored = &mut out[base..];
    let mut rest = run;
    while let Some(&len) = rest.first() {
        let Some((label, next)) = rest.split_at_checked(1 + usize::from(len)) else {
            break;
        };
        mirrored[rest.len() - label.len()..rest.len()].copy_from_slice(label);
        rest = next;
    }
}

/// Appends `fname`: labels leaf first, length-prefixed, terminated by 0 (the wire form).
pub fn push_fname(out: &mut Vec<u8>, wire: &[u8]) {
    push_fname_prefix(out, wire);
    out.push(0);
}

/// `fname` without its terminator: every name that starts with these labels.
pub fn push_fname_prefix(out: &mut Vec<u8>, wire: &[u8]) {
    for label in labels(wire) {
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
}

/// The bytes after the `fname` at the start of an index key.
pub fn skip_fname(key: &[u8]) -> Option<&[u8]> {
    let mut rest = key;
    loop {
        let (&len, after) = rest.split_first()?;
        if len == 0 {
            return Some(after);
        }
        rest = after.get(usize::from(len)..)?;
    }
}

/// An owner's entry in `rrset_fwd` (format version 3): `fname(owner)` and nothing after it.
pub fn owner_forward_key(owner: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(owner.len());
    push_fname(&mut key, owner);
    key
}

/// The owner (canonical wire form, which is its `fname`) of an `rrset_fwd` entry of format
/// version 3; `None` for a version-2 entry (`fname | dnssec flag | row key`) or damage.
pub fn forward_entry_owner(key: &[u8]) -> Option<&[u8]> {
    skip_fname(key)?.is_empty().then_some(key)
}

/// Reads an `rname` at the start of `bytes` and appends its canonical wire name to `out`;
/// returns the bytes after it. Allocates nothing but what `out` grows by.
pub fn take_rname_into<'b>(bytes: &'b [u8], out: &mut Vec<u8>) -> Option<&'b [u8]> {
    let end = rname_end(bytes)?;
    out.reserve(end + 1);
    push_labels_reversed(out, &bytes[..end]);
    out.push(0);
    Some(&bytes[end + 1..])
}

/// The length of the `rname` at the start of `bytes`, its terminating zero included.
fn rname_len(bytes: &[u8]) -> Option<usize> {
    rname_end(bytes).map(|end| end + 1)
}

/// Where the terminating zero of the `rname` at the start of `bytes` lies; `None` if the
/// bytes cannot be a valid name.
fn rname_end(bytes: &[u8]) -> Option<usize> {
    let mut count = 0;
    let mut at = 0;
    loop {
        let len = usize::from(*bytes.get(at)?);
        if len == 0 {
            return Some(at);
        }
        // A label starting past byte 255 belongs to no valid name: the key is damaged.
        if at > usize::from(u8::MAX)
            || len > 63
            || count == MAX_LABELS
            || at + 1 + len > bytes.len()
        {
            return None;
        }
        count += 1;
        at += 1 + len;
    }
}

/// Which column family pair a type lives in.
pub fn is_dnssec(rrtype: u16) -> bool {
    is_dnssec_type(rrtype)
}

/// Appends the key of an RRset row to `out`:
/// `rname(owner) | rrtype | rname(bailiwick) | rdata list | source`.
pub fn push_rrset_key(out: &mut Vec<u8>, parts: &RRsetParts<'_>, source: Source) {
    push_rname(out, parts.rrname);
    out.extend_from_slice(&parts.rrtype.to_be_bytes());
    match parts.bailiwick {
        Some(zone) => push_rname(out, zone),
        None => out.push(NO_BAILIWICK),
    }
    let count_at = out.len();
    out.extend_from_slice(&[0, 0]);
    let mut count: u16 = 0;
    for r in parts.rdata() {
        out.extend_from_slice(&(r.len() as u16).to_be_bytes());
        out.extend_from_slice(r);
        count += 1;
    }
    out[count_at..count_at + 2].copy_from_slice(&count.to_be_bytes());
    out.push(source as u8);
}

/// Takes an RRset row key apart into `out`, in the layout of [`RRset::encode`], and returns
/// its source. Checks the key's layout (damaged bytes give `None`, never a panic) but not
/// the RRset invariants (canonical names, sorted distinct rdata) that the store established
/// when it wrote the key: queries read keys this way, into one buffer per row;
/// [`decode_rrset_key`] checks everything (`stats --verify`). On `None`, `out` holds junk.
pub fn decode_rrset_row_into(key: &[u8], out: &mut Vec<u8>) -> Option<Source> {
    let rest = take_rname_into(key, out)?;
    let (rrtype, rest) = rest.split_first_chunk::<2>()?;
    out.extend_from_slice(rrtype);
    let rest = match rest.first()? {
        &NO_BAILIWICK => {
            out.push(0);
            &rest[1..]
        }
        _ => {
            out.push(1);
            take_rname_into(rest, out)?
        }
    };
    // The key's rdata list is the encoding's: a count, then (length, rdata) pairs.
    let (&source, list) = rest.split_last()?;
    rdata_list_is_whole(list).then(|| out.extend_from_slice(list))?;
    Source::from_byte(source)
}

/// Whether `list` is a u16 count followed by exactly that many (u16 length, bytes) pairs.
fn rdata_list_is_whole(list: &[u8]) -> bool {
    let Some((count, mut rest)) = list.split_first_chunk::<2>() else {
        return false;
    };
    for _ in 0..u16::from_be_bytes(*count) {
        let Some((len, after)) = rest.split_first_chunk::<2>() else {
            return false;
        };
        let Some(next) = after.get(usize::from(u16::from_be_bytes(*len))..) else {
            return false;
        };
        rest = next;
    }
    rest.is_empty()
}

/// Decodes an RRset row key back into the RRset and its source, checking every invariant
/// of [`RRset`].
pub fn decode_rrset_key(key: &[u8]) -> Option<(RRset, Source)> {
    let mut encoded = Vec::with_capacity(key.len() + 1);
    let source = decode_rrset_row_into(key, &mut encoded)?;
    Some((RRset::from_encoded(&encoded).ok()?, source))
}

/// The names inside rdata that the name index holds (`docs/encoding.md`, kind 0x03): the
/// target of NS, CNAME, DNAME, PTR; the exchange of MX; the target of SRV; the primary
/// server of SOA; the target of SVCB and HTTPS. `None` for other types or damaged rdata.
pub fn indexed_name(rrtype: u16, rdata: &[u8]) -> Option<&[u8]> {
    let skip = match rrtype {
        rtype::NS | rtype::CNAME | rtype::DNAME | rtype::PTR | rtype::SOA => 0,
        rtype::MX | rtype::SVCB | rtype::HTTPS => 2,
        rtype::SRV => 6,
        _ => return None,
    };
    let name = rdata.get(skip..)?;
    let len = wire_name_len(name)?;
    name.get(..len)
}

fn wire_name_len(wire: &[u8]) -> Option<usize> {
    let mut at = 0usize;
    loop {
        let len = usize::from(*wire.get(at)?);
        at += 1 + len;
        if len == 0 {
            return Some(at);
        }
        if len > 63 || at > 255 {
            return None;
        }
    }
}

/// Appends the index part of an rdata key: `kind | index`.
pub fn push_rdata_index(out: &mut Vec<u8>, rrtype: u16, rdata: &[u8]) {
    match (rrtype, rdata.len(), indexed_name(rrtype, rdata)) {
        (rtype::A, 4, _) => {
            out.push(kind::IPV4);
            out.extend_from_slice(rdata);
        }
        (rtype::AAAA, 16, _) => {
            out.push(kind::IPV6);
            out.extend_from_slice(rdata);
        }
        (_, _, Some(name)) => {
            out.push(kind::NAME);
            push_rname(out, name);
        }
        _ => {
            out.push(kind::RAW);
            out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            out.extend_from_slice(rdata);
        }
    }
}

/// The key of an rdata row: `kind | index | rrtype | rname(owner) | [length | rdata] |
/// source`, the rdata only where the index does not hold it (kind `0x03`, a name inside
/// rdata: the rest of the rdata, an MX preference or SRV port, is not in the index).
pub fn rdata_key(owner: &[u8], rrtype: u16, rdata: &[u8], source: Source) -> Vec<u8> {
    let mut key = Vec::with_capacity(owner.len() + 2 * rdata.len() + 16);
    push_rdata_key(&mut key, owner, rrtype, rdata, source);
    key
}

/// Appends the key of an rdata row (see [`rdata_key`]) to `out`.
pub fn push_rdata_key(out: &mut Vec<u8>, owner: &[u8], rrtype: u16, rdata: &[u8], source: Source) {
    push_rdata_key_with(out, |out| push_rname(out, owner), rrtype, rdata, source);
}

/// [`push_rdata_key`] of an owner already in `rname` form: the start of its RRset row's
/// key, so that a row with several RRs reverses its owner once.
pub fn push_rdata_key_of_rname(
    out: &mut Vec<u8>,
    owner_rname: &[u8],
    rrtype: u16,
    rdata: &[u8],
    source: Source,
) {
    let push_owner = |out: &mut Vec<u8>| out.extend_from_slice(owner_rname);
    push_rdata_key_with(out, push_owner, rrtype, rdata, source);
}

fn push_rdata_key_with(
    out: &mut Vec<u8>,
    push_owner: impl FnOnce(&mut Vec<u8>),
    rrtype: u16,
    rdata: &[u8],
    source: Source,
) {
    let start = out.len();
    push_rdata_index(out, rrtype, rdata);
    let indexed_by_name = out[start] == kind::NAME;
    out.extend_from_slice(&rrtype.to_be_bytes());
    push_owner(out);
    if indexed_by_name {
        push_rdata(out, rdata);
    }
    out.push(source as u8);
}

/// The key of an rdata row as format versions 1 and 2 wrote it: the rdata after the owner
/// for every kind (`rdata_key` keeps it for names only).
pub fn legacy_rdata_key(owner: &[u8], rrtype: u16, rdata: &[u8], source: Source) -> Vec<u8> {
    let mut key = Vec::with_capacity(owner.len() + 2 * rdata.len() + 16);
    push_rdata_index(&mut key, rrtype, rdata);
    key.extend_from_slice(&rrtype.to_be_bytes());
    push_rname(&mut key, owner);
    push_rdata(&mut key, rdata);
    key.push(source as u8);
    key
}

fn push_rdata(out: &mut Vec<u8>, rdata: &[u8]) {
    out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(rdata);
}

/// An rdata row decoded from its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RdataRow {
    pub rrname: Vec<u8>,
    pub rrtype: u16,
    pub rdata: Vec<u8>,
    pub source: Source,
}

/// Decodes an rdata row key, of any format version (see [`decode_rdata_key_into`]).
pub fn decode_rdata_key(key: &[u8]) -> Option<RdataRow> {
    let mut rrname = Vec::new();
    let (rrtype, rdata, source) = decode_rdata_key_into(key, &mut rrname)?;
    Some(RdataRow {
        rrname,
        rrtype,
        rdata: rdata.to_vec(),
        source,
    })
}

/// Takes an rdata row key apart into `out`, in the layout of [`RRset::encode`] (the owner,
/// the type, no bailiwick, the one rdata), and returns its source: what queries read, one
/// buffer per row. On `None`, `out` holds junk.
pub fn decode_rdata_row_into(key: &[u8], out: &mut Vec<u8>) -> Option<Source> {
    let (rrtype, rdata, source) = decode_rdata_key_into(key, out)?;
    out.extend_from_slice(&rrtype.to_be_bytes());
    out.push(0);
    out.extend_from_slice(&1u16.to_be_bytes());
    push_rdata(out, rdata);
    Some(source)
}

/// Decodes an rdata row key of any format version, appending the owner's canonical wire
/// name to `owner` and returning the type, the rdata (borrowed from the key) and the
/// source. After the owner, a key of version 3 or later has the source byte alone unless
/// its kind is a name; one of versions 1 and 2 has `length | rdata | source` whatever its
/// kind.
fn decode_rdata_key_into<'k>(
    key: &'k [u8],
    owner: &mut Vec<u8>,
) -> Option<(u16, &'k [u8], Source)> {
    let (&kind, rest) = key.split_first()?;
    let (index, rest) = match kind {
        kind::IPV4 => rest.split_at_checked(4)?,
        kind::IPV6 => rest.split_at_checked(16)?,
        kind::NAME => rest.split_at_checked(rname_len(rest)?)?,
        kind::RAW => {
            let (len, after) = rest.split_first_chunk::<2>()?;
            let (raw, after) = after.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
            (raw, after)
        }
        _ => return None,
    };
    let (rrtype, rest) = rest.split_first_chunk::<2>()?;
    let rest = take_rname_into(rest, owner)?;
    let (rdata, source) = match rest {
        [source] if kind != kind::NAME => (index, source),
        _ => {
            let (len, rest) = rest.split_first_chunk::<2>()?;
            let (rdata, rest) = rest.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
            let [source] = rest else { return None };
            (rdata, source)
        }
    };
    Some((
        u16::from_be_bytes(*rrtype),
        rdata,
        Source::from_byte(*source)?,
    ))
}

/// The key an rdata row has from format version 3 on, for its stored key of any version:
/// shorter than a key of versions 1 and 2 that held its rdata twice (in the index and after
/// the owner), the same key otherwise; `None` if it does not decode.
pub fn current_rdata_key(key: &[u8]) -> Option<Vec<u8>> {
    let row = decode_rdata_key(key)?;
    Some(rdata_key(&row.rrname, row.rrtype, &row.rdata, row.source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dnsledger_wire::NameBuf;

    /// The canonical wire name of the `rname` at the start of `bytes`, and the bytes after it.
    fn take_rname(bytes: &[u8]) -> Option<(Vec<u8>, &[u8])> {
        let mut wire = Vec::new();
        let rest = take_rname_into(bytes, &mut wire)?;
        Some((wire, rest))
    }

    fn wire(text: &str) -> Vec<u8> {
        NameBuf::from_text(text).unwrap().as_wire().to_vec()
    }

    fn rname(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        push_rname(&mut out, &wire(text));
        out
    }

    #[test]
    fn rname_reverses_labels_and_prefixes_stop_at_label_boundaries() {
        assert_eq!(rname("www.example.com."), b"\x03com\x07example\x03www\x00");
        assert_eq!(rname("."), b"\x00");
        let mut prefix = Vec::new();
        push_rname_prefix(&mut prefix, &wire("example.com."));
        assert!(rname("example.com.").starts_with(&prefix));
        assert!(rname("a.b.example.com.").starts_with(&prefix));
        assert!(!rname("anexample.com.").starts_with(&prefix));
        assert!(!rname("example.community.").starts_with(&prefix));
    }

    #[test]
    fn rname_decodes_back() {
        for name in [".", "com.", "www.example.com."] {
            let encoded = rname(name);
            let (decoded, rest) = take_rname(&encoded).unwrap();
            assert_eq!(decoded, wire(name));
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn the_longest_names_round_trip_and_an_overlong_stored_name_is_refused() {
        let most_labels = "a.".repeat(127);
        let x63 = "x".repeat(63);
        let longest_labels = format!("{x63}.{x63}.{x63}.{}.", "y".repeat(61));
        for name in [most_labels.as_str(), longest_labels.as_str()] {
            let encoded = rname(name);
            assert_eq!(encoded.len(), 255, "{name}");
            let (decoded, rest) = take_rname(&encoded).unwrap();
            assert_eq!(decoded, wire(name));
            assert!(rest.is_empty());
        }
        // A damaged key: five 63-byte labels, 320 bytes, longer than any name.
        let mut overlong = Vec::new();
        for _ in 0..5 {
            overlong.push(63);
            overlong.extend_from_slice(&[b'z'; 63]);
        }
        overlong.push(0);
        assert_eq!(take_rname(&overlong), None);
    }

    #[test]
    fn rrset_keys_round_trip_for_both_sources_and_without_bailiwick() {
        let with = RRset::new(
            NameBuf::from_text("example.com.").unwrap(),
            rtype::NS,
            Some(NameBuf::from_text("com.").unwrap()),
            vec![wire("ns1.example.com."), wire("ns2.example.net.")],
        );
        let without = RRset::new(NameBuf::root(), rtype::A, None, vec![vec![192, 0, 2, 1]]);
        for rrset in [with, without] {
            for source in [Source::Sensor, Source::ZoneFile] {
                let mut key = Vec::new();
                push_rrset_key(&mut key, &rrset.parts(), source);
                assert_eq!(decode_rrset_key(&key), Some((rrset.clone(), source)));
                let mut row = Vec::new();
                assert_eq!(decode_rrset_row_into(&key, &mut row), Some(source));
                assert_eq!(row, rrset.encoded());
                for cut in 0..key.len() {
                    let decoded = decode_rrset_row_into(&key[..cut], &mut Vec::new());
                    assert_eq!(decoded, None, "cut at {cut}");
                }
            }
        }
    }

    #[test]
    fn the_longest_names_reverse_and_read_back() {
        // 127 one-byte labels: the most a 255-byte wire name holds.
        let text = "a.".repeat(127);
        let long = wire(&text);
        let encoded = rname(&text);
        assert_eq!(encoded.len(), long.len());
        let (decoded, rest) = take_rname(&encoded).unwrap();
        assert_eq!((decoded, rest), (long, &[][..]));
    }

    #[test]
    fn rdata_keys_index_addresses_names_and_raw_bytes() {
        let a = rdata_key(
            &wire("www.example.com."),
            rtype::A,
            &[192, 0, 2, 1],
            Source::Sensor,
        );
        assert_eq!(&a[..5], &[kind::IPV4, 192, 0, 2, 1]);
        let mut mx_rdata = vec![0, 10];
        mx_rdata.extend_from_slice(&wire("mail.example.com."));
        let mx = rdata_key(&wire("example.com."), rtype::MX, &mx_rdata, Source::Sensor);
        assert_eq!(mx[0], kind::NAME);
        assert!(mx[1..].starts_with(&rname("mail.example.com.")));
        let txt = rdata_key(
            &wire("example.com."),
            rtype::TXT,
            b"\x02hi",
            Source::ZoneFile,
        );
        assert_eq!(&txt[..4], &[kind::RAW, 0, 3, 2]);
        // The rdata follows the owner only where the index does not hold it all.
        assert_eq!(a.len(), 5 + 2 + rname("www.example.com.").len() + 1);
        assert_eq!(txt.len(), 6 + 2 + rname("example.com.").len() + 1);
        assert!(mx[..mx.len() - 1].ends_with(&mx_rdata));
        for key in [a, mx, txt] {
            let row = decode_rdata_key(&key).expect("decodes");
            assert_eq!(
                rdata_key(&row.rrname, row.rrtype, &row.rdata, row.source),
                key
            );
            assert_eq!(current_rdata_key(&key), Some(key.clone()));
            let mut encoded = Vec::new();
            assert_eq!(decode_rdata_row_into(&key, &mut encoded), Some(row.source));
            let one = RRset::from_encoded(&encoded).expect("an RRset encoding");
            assert_eq!(one.rrname_wire(), row.rrname);
            assert_eq!(one.rrtype(), row.rrtype);
            assert_eq!(one.bailiwick_wire(), None);
            assert!(one.rdata().eq([row.rdata.as_slice()]));
        }
    }

    #[test]
    fn keys_of_versions_1_and_2_decode_to_the_same_rows() {
        let owner = wire("www.example.com.");
        let mut mx_rdata = vec![0, 10];
        mx_rdata.extend_from_slice(&wire("mail.example.com."));
        let rows: [(u16, &[u8]); 4] = [
            (rtype::A, &[192, 0, 2, 1]),
            (
                rtype::AAAA,
                &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            ),
            (rtype::TXT, b"\x02hi"),
            (rtype::MX, &mx_rdata),
        ];
        for (rrtype, rdata) in rows {
            let legacy = legacy_rdata_key(&owner, rrtype, rdata, Source::Sensor);
            let current = rdata_key(&owner, rrtype, rdata, Source::Sensor);
            assert_eq!(decode_rdata_key(&legacy), decode_rdata_key(&current));
            let doubled = rrtype != rtype::MX;
            assert_eq!(current_rdata_key(&legacy), Some(current.clone()));
            assert_eq!(legacy == current, !doubled);
        }
    }

    #[test]
    fn damaged_keys_do_not_decode() {
        let key = rdata_key(
            &wire("www.example.com."),
            rtype::A,
            &[192, 0, 2, 1],
            Source::Sensor,
        );
        for cut in 0..key.len() {
            assert_eq!(decode_rdata_key(&key[..cut]), None);
            assert_eq!(decode_rdata_row_into(&key[..cut], &mut Vec::new()), None);
        }
    }
}
