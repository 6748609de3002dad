//! Domain names: [`Name`] (borrowed, inside a message, possibly compressed) and
//! [`NameBuf`] (owned, canonical wire form).
//!
//! All reading of names from wire bytes goes through [`parse_name`], the single place that
//! enforces the compression-pointer rules, so that nothing else ever has to distrust a
//! [`Name`] again.

use std::fmt;

use crate::text;
use crate::WireError;

/// Longest uncompressed wire form of a name, root label included (RFC 1035 section 3.1).
pub const MAX_NAME_LEN: usize = 255;
/// Longest label (RFC 1035 section 3.1).
pub const MAX_LABEL_LEN: usize = 63;
/// Most compression pointers followed while reading one name. A well-formed name never
/// needs more than a handful; the bound caps the work an attacker can cause per name.
pub const MAX_POINTER_HOPS: usize = 127;

/// Where compression pointers may appear while reading a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compression {
    Allowed,
    Forbidden,
}

/// A name inside a message buffer: the buffer and the offset where the name starts.
///
/// Compression pointers are followed in place; nothing is copied. A `Name` is only created
/// by parsing, which has validated every rule (pointer direction, hop count, lengths), so
/// the methods here cannot fail.
#[derive(Clone, Copy)]
pub struct Name<'a> {
    buf: &'a [u8],
    start: usize,
    wire_len: u8,
    label_count: u8,
}

/// Reads the name starting at `buf[start]`.
///
/// The name's own bytes (up to its first pointer or its root label) must lie before `limit`
/// (the end of the message or of the rdata holding the name). Each pointer must point
/// strictly before the start of the label run that contains it, and the run it reaches must
/// end before that start (the rule dnspython applies); this makes loops impossible and bounds
/// the work. Returns the name and the offset just after its in-line bytes.
pub(crate) fn parse_name(
    buf: &[u8],
    start: usize,
    limit: usize,
    compression: Compression,
) -> Result<(Name<'_>, usize), WireError> {
    walk_name(buf, start, limit, compression, &mut ())
}

/// As [`parse_name`], also appending the name's canonical form (uncompressed, lower case,
/// as [`Name::write_canonical`] writes it) to `out` in the same walk, for callers that
/// need it anyway. On `Err`, `out` is left as it was.
pub(crate) fn parse_name_canonical<'a>(
    buf: &'a [u8],
    start: usize,
    limit: usize,
    compression: Compression,
    out: &mut Vec<u8>,
) -> Result<(Name<'a>, usize), WireError> {
    let mark = out.len();
    let mut copy = CanonicalCopy { out, mark };
    let parsed = walk_name(buf, start, limit, compression, &mut copy);
    if parsed.is_err() {
        out.truncate(mark);
    }
    parsed
}

/// What a walk of a name does with the labels it has validated.
trait LabelSink {
    /// `labels` is a run of in-line labels (length bytes and labels), up to a pointer or
    /// the root label.
    fn run(&mut self, labels: &[u8]);
    fn root(&mut self);
}

/// Validation only.
impl LabelSink for () {
    fn run(&mut self, _: &[u8]) {}
    fn root(&mut self) {}
}

/// Appends the canonical form: each run copied whole, then everything appended lower-cased
/// in one pass (length bytes are <= 63, below 'A', so lower-casing leaves them alone).
struct CanonicalCopy<'o> {
    out: &'o mut Vec<u8>,
    mark: usize,
}

impl LabelSink for CanonicalCopy<'_> {
    fn run(&mut self, labels: &[u8]) {
        self.out.extend_from_slice(labels);
    }

    fn root(&mut self) {
        self.out.push(0);
        if let Some(appended) = self.out.get_mut(self.mark..) {
            appended.make_ascii_lowercase();
        }
    }
}

/// The one walk of a name that enforces the rules (see [`parse_name`]), handing each run
/// of validated labels to `sink`.
fn walk_name<'a>(
    buf: &'a [u8],
    start: usize,
    limit: usize,
    compression: Compression,
    sink: &mut impl LabelSink,
) -> Result<(Name<'a>, usize), WireError> {
    let mut pos = start;
    let mut run_start = start;
    let mut run_limit = limit.min(buf.len());
    let mut after: Option<usize> = None;
    let mut wire_len = 1usize; // the root label
    let mut labels = 0u8;
    let mut hops = 0usize;
    loop {
        let b = next_byte(buf, pos, run_limit, hops)?;
        match b & 0xc0 {
            0x00 if b == 0 => {
                sink.run(buf.get(run_start..pos).unwrap_or_default());
                sink.root();
                let name = Name {
                    buf,
                    start,
                    wire_len: u8::try_from(wire_len).map_err(|_| WireError::NameTooLong)?,
                    label_count: labels,
                };
                return Ok((name, after.unwrap_or(pos + 1)));
            }
            0x00 => {
                let len = usize::from(b);
                wire_len += 1 + len;
                if wire_len > MAX_NAME_LEN {
                    return Err(WireError::NameTooLong);
                }
                // The label must fit in the current run (its last byte is at pos + len).
                next_byte(buf, pos + len, run_limit, hops)?;
                pos += 1 + len;
                labels += 1; // at most 127 labels fit in 255 bytes
            }
            0xc0 => {
                if compression == Compression::Forbidden {
                    return Err(WireError::UnexpectedPointer);
                }
                let low = next_byte(buf, pos + 1, run_limit, hops)?;
                let target = (usize::from(b & 0x3f) << 8) | usize::from(low);
                if target > pos {
                    return Err(WireError::ForwardPointer);
                }
                if target >= run_start {
                    return Err(WireError::PointerLoop);
                }
                hops += 1;
                if hops > MAX_POINTER_HOPS {
                    return Err(WireError::TooManyPointers);
                }
                after.get_or_insert(pos + 2);
                sink.run(buf.get(run_start..pos).unwrap_or_default());
                run_limit = run_start;
                run_start = target;
                pos = target;
            }
            _ => return Err(WireError::BadLabel(b)),
        }
    }
}

/// The byte at `pos` if it lies inside the current run. Running off the first run means
/// the input is short; running off a later run means the pointer target overlaps bytes
/// already read for this name.
fn next_byte(buf: &[u8], pos: usize, run_limit: usize, hops: usize) -> Result<u8, WireError> {
    if pos < run_limit {
        if let Some(&b) = buf.get(pos) {
            return Ok(b);
        }
    }
    Err(if hops == 0 {
        WireError::Truncated
    } else {
        WireError::PointerLoop
    })
}

impl<'a> Name<'a> {
    /// Appends the uncompressed, lower-cased wire form (ends with the root label 0).
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        let mark = out.len();
        out.reserve(usize::from(self.wire_len));
        // Copy each run of in-line labels whole, then lower-case everything appended in one
        // pass: length bytes are <= 63, below 'A', so lower-casing leaves them alone.
        let mut pos = self.start;
        for _ in 0..=MAX_POINTER_HOPS {
            let run_start = pos;
            while let Some(&len) = self.buf.get(pos) {
                if len == 0 || len & 0xc0 != 0 {
                    break;
                }
                pos += 1 + usize::from(len);
            }
            out.extend_from_slice(self.buf.get(run_start..pos).unwrap_or_default());
            match self.buf.get(pos..pos + 2) {
                Some(&[hi, lo]) if hi & 0xc0 == 0xc0 => {
                    pos = (usize::from(hi & 0x3f) << 8) | usize::from(lo);
                }
                _ => break,
            }
        }
        out.push(0);
        if let Some(appended) = out.get_mut(mark..) {
            appended.make_ascii_lowercase();
        }
    }

    /// Where the name's own labels begin in its message: its start, or where the pointer it
    /// starts with leads. Two names of one message with the same origin are the same name
    /// byte for byte (their labels are read from the same bytes), so a caller that has
    /// decompressed one need not decompress the other: most owners in a response are a
    /// pointer to the question or to an earlier owner.
    pub fn origin(&self) -> usize {
        let mut pos = self.start;
        // Bounded like every walk of a parsed name (see `Labels::next`).
        for _ in 0..=MAX_POINTER_HOPS {
            match self.buf.get(pos..pos + 2) {
                Some(&[hi, lo]) if hi & 0xc0 == 0xc0 => {
                    pos = (usize::from(hi & 0x3f) << 8) | usize::from(lo);
                }
                _ => break,
            }
        }
        pos
    }

    /// Label-wise ASCII case-insensitive comparison (the DNS rule for name equality).
    pub fn eq_ignore_case(&self, other: &Name<'_>) -> bool {
        self.wire_len == other.wire_len
            && self.label_count == other.label_count
            && self
                .labels()
                .zip(other.labels())
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
    }

    /// An owned copy in canonical (uncompressed, lower-case) form.
    pub fn to_name_buf(&self) -> NameBuf {
        let mut v = Vec::with_capacity(usize::from(self.wire_len));
        self.write_canonical(&mut v);
        NameBuf(v.into_boxed_slice())
    }

    /// The labels from left to right, without the root; pointers are followed in place.
    pub fn labels(&self) -> Labels<'a> {
        Labels {
            buf: self.buf,
            pos: self.start,
            hops: 0,
        }
    }

    /// Length of the uncompressed wire form, root label included (1 for the root).
    pub fn wire_len(&self) -> usize {
        usize::from(self.wire_len)
    }

    /// Number of labels, not counting the root.
    pub fn label_count(&self) -> usize {
        usize::from(self.label_count)
    }

    /// True for the root name `.`.
    pub fn is_root(&self) -> bool {
        self.label_count == 0
    }
}

impl fmt::Display for Name<'_> {
    /// Presentation text, as [`NameBuf::to_text`] but with the original letter case.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(self.wire_len());
        text::push_labels_text(&mut s, self.labels());
        f.write_str(&s)
    }
}

impl fmt::Debug for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

/// Iterator over the labels of a [`Name`] (see [`Name::labels`]).
#[derive(Clone, Debug)]
pub struct Labels<'a> {
    buf: &'a [u8],
    pos: usize,
    hops: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        // The name was validated when parsed; the hop bound only guards against misuse of
        // the private constructor, so that even then this cannot loop forever.
        while self.hops <= MAX_POINTER_HOPS {
            let b = *self.buf.get(self.pos)?;
            if b & 0xc0 == 0xc0 {
                let low = *self.buf.get(self.pos + 1)?;
                self.pos = (usize::from(b & 0x3f) << 8) | usize::from(low);
                self.hops += 1;
                continue;
            }
            if b == 0 || b & 0xc0 != 0 {
                return None;
            }
            let label = self.buf.get(self.pos + 1..self.pos + 1 + usize::from(b))?;
            self.pos += 1 + usize::from(b);
            return Some(label);
        }
        None
    }
}

/// An owned name in canonical (uncompressed, lower-case) wire form, at most 255 bytes.
///
/// The derived `Ord` compares wire bytes; it is a total order for maps, not the DNSSEC
/// canonical name order.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NameBuf(Box<[u8]>);

impl NameBuf {
    /// The root name `.`.
    pub fn root() -> NameBuf {
        NameBuf(Box::new([0]))
    }

    /// Validates an uncompressed wire name that must fill `canonical` exactly, and
    /// lower-cases it.
    pub fn from_wire(canonical: &[u8]) -> Result<NameBuf, WireError> {
        let (name, end) = parse_name(canonical, 0, canonical.len(), Compression::Forbidden)?;
        if end != canonical.len() {
            return Err(WireError::TrailingData);
        }
        Ok(name.to_name_buf())
    }

    /// The canonical wire form, ending with the root label 0.
    pub fn as_wire(&self) -> &[u8] {
        &self.0
    }

    /// Number of labels, not counting the root.
    pub fn label_count(&self) -> usize {
        self.labels().count()
    }

    /// The labels from left to right, without the root.
    pub fn labels(&self) -> impl Iterator<Item = &[u8]> {
        WireLabels { wire: &self.0 }
    }

    /// True if `self` equals `zone` or lies below it, comparing whole labels
    /// (`www.bankcom.` is not under `com.`).
    pub fn is_subdomain_of(&self, zone: &NameBuf) -> bool {
        is_subdomain_wire(&self.0, &zone.0)
    }

    /// The name with its leftmost label removed; `None` for the root.
    pub fn parent(&self) -> Option<NameBuf> {
        let first = usize::from(*self.0.first()?);
        if first == 0 {
            return None;
        }
        let rest = self.0.get(1 + first..)?;
        Some(NameBuf(rest.into()))
    }

    /// Presentation text: absolute with a trailing dot, `.` for the root, special
    /// characters escaped the way dnspython does.
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(self.0.len() + 1);
        text::push_labels_text(&mut s, self.labels());
        s
    }

    /// Parses presentation text (relative names are taken as absolute; `\.` and `\DDD`
    /// escapes; letters folded to lower case).
    pub fn from_text(s: &str) -> Result<NameBuf, WireError> {
        let wire = text::name_wire_from_text(s)?;
        Ok(NameBuf(wire.into_boxed_slice()))
    }

    /// Parses presentation text as a master file (RFC 1035 section 5.1) reads a name:
    /// `@` is `origin`, a name ending in an unescaped dot is absolute, any other is relative
    /// to `origin`. Escapes and case folding as [`NameBuf::from_text`].
    pub fn from_text_in(s: &str, origin: &NameBuf) -> Result<NameBuf, WireError> {
        let wire = text::name_wire_from_text_in(s, origin.as_wire())?;
        Ok(NameBuf(wire.into_boxed_slice()))
    }
}

impl fmt::Display for NameBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl fmt::Debug for NameBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NameBuf({self})")
    }
}

/// Labels of an uncompressed wire name; stops at the root label or at anything malformed.
struct WireLabels<'a> {
    wire: &'a [u8],
}

impl<'a> Iterator for WireLabels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let len = usize::from(*self.wire.first()?);
        if len == 0 || len > MAX_LABEL_LEN {
            return None;
        }
        let label = self.wire.get(1..1 + len)?;
        self.wire = self.wire.get(1 + len..)?;
        Some(label)
    }
}

/// Length of the uncompressed wire name at the start of `wire` (root label included), or
/// `None` if it is malformed or compressed.
pub(crate) fn uncompressed_len(wire: &[u8]) -> Option<usize> {
    let mut pos = 0usize;
    loop {
        let len = usize::from(*wire.get(pos)?);
        if len > MAX_LABEL_LEN {
            return None;
        }
        pos += 1 + len;
        if pos > MAX_NAME_LEN {
            return None;
        }
        if len == 0 {
            return Some(pos);
        }
    }
}

/// Appends the presentation text of a canonical wire name (as [`NameBuf::to_text`] prints
/// it) to `out`, for callers that format many names into one buffer. The name must be valid
/// wire form, as everything this crate produces is; a malformed one prints what precedes
/// the damage.
pub fn push_name_text(out: &mut String, wire: &[u8]) {
    text::push_labels_text(out, WireLabels { wire });
}

/// True if the canonical wire name `name` equals `zone` or lies below it, label-wise.
///
/// Both arguments are uncompressed wire names (as in canonical rdata or
/// [`NameBuf::as_wire`]); bytes after a name's root label are ignored. Letters are compared
/// ASCII case-insensitively. Malformed input gives `false`. Allocation-free: this is on the
/// sensor's per-record path.
pub fn is_subdomain_wire(name: &[u8], zone: &[u8]) -> bool {
    let (Some(name_len), Some(zone_len)) = (uncompressed_len(name), uncompressed_len(zone)) else {
        return false;
    };
    let Some(offset) = name_len.checked_sub(zone_len) else {
        return false;
    };
    // The suffix must start on a label boundary of `name`: walk to it.
    let mut pos = 0usize;
    while pos < offset {
        match name.get(pos) {
            Some(&len) => pos += 1 + usize::from(len),
            None => return false,
        }
    }
    pos == offset
        && match (name.get(offset..name_len), zone.get(..zone_len)) {
            // Canonical names are equal byte for byte: the plain comparison first is cheaper.
            (Some(a), Some(b)) => a == b || a.eq_ignore_ascii_case(b),
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nb(s: &str) -> NameBuf {
        NameBuf::from_text(s).unwrap()
    }

    /// Parses with both walks, which must agree: the one that also writes the canonical
    /// form writes what `to_name_buf` gives, or nothing on an error.
    fn parse(buf: &[u8], start: usize) -> Result<(String, usize), WireError> {
        let plain = parse_name(buf, start, buf.len(), Compression::Allowed)
            .map(|(n, end)| (n.to_name_buf(), end));
        let mut out = b"kept".to_vec();
        let copied = parse_name_canonical(buf, start, buf.len(), Compression::Allowed, &mut out);
        match (&plain, copied) {
            (Ok((name, end)), Ok((_, copied_end))) => {
                assert_eq!((&out[4..], copied_end), (name.as_wire(), *end));
            }
            (Err(error), Err(copied_error)) => {
                assert_eq!((copied_error, &out[..]), (*error, &b"kept"[..]));
            }
            _ => panic!("the two walks disagree on {buf:?} at {start}"),
        }
        plain.map(|(name, end)| (name.to_text(), end))
    }

    #[test]
    fn plain_and_compressed_names() {
        // 0: "example.com." ; 13: "WWW" + ptr(0) ; 19: ptr(13)
        let mut buf = b"\x07example\x03com\x00".to_vec();
        buf.extend_from_slice(b"\x03WWW\xc0\x00");
        buf.extend_from_slice(b"\xc0\x0d");
        assert_eq!(parse(&buf, 0), Ok(("example.com.".into(), 13)));
        assert_eq!(parse(&buf, 13), Ok(("www.example.com.".into(), 19)));
        assert_eq!(parse(&buf, 19), Ok(("www.example.com.".into(), 21)));
        assert_eq!(parse(&buf, 12), Ok((".".into(), 13)));
    }

    #[test]
    fn names_read_from_the_same_labels_share_their_origin() {
        // 0: "example.com." ; 13: "WWW" + ptr(0) ; 19: ptr(13) ; 21: ptr(19) ; 23: ptr(0)
        let mut buf = b"\x07example\x03com\x00".to_vec();
        buf.extend_from_slice(b"\x03WWW\xc0\x00\xc0\x0d\xc0\x13\xc0\x00");
        let origin = |start| {
            let (name, _) = parse_name(&buf, start, buf.len(), Compression::Allowed).unwrap();
            name.origin()
        };
        assert_eq!([origin(0), origin(23)], [0, 0]);
        assert_eq!([origin(13), origin(19), origin(21)], [13, 13, 13]);
        // The root label inside "example.com." is a name of its own.
        assert_eq!(origin(12), 12);
    }

    #[test]
    fn hostile_names() {
        let cases: &[(&[u8], usize, WireError)] = &[
            (b"\xc0\x00", 0, WireError::PointerLoop), // points at itself
            (b"\x01a\xc0\x00", 0, WireError::PointerLoop), // back into its own run
            (b"\xc0\x02\x00", 0, WireError::ForwardPointer), // forward
            (b"\x00\xc0\x05", 1, WireError::ForwardPointer), // beyond the buffer
            (b"\x03abc", 0, WireError::Truncated),    // no root label
            (b"\x03ab", 0, WireError::Truncated),     // short label
            (b"\xc0", 0, WireError::Truncated),       // half a pointer
            (b"\x40", 0, WireError::BadLabel(0x40)),  // type 0b01 / 64-byte label
            (b"\x80", 0, WireError::BadLabel(0x80)),  // type 0b10
            (b"\x01a\xc0\x00", 2, WireError::PointerLoop), // target runs into the pointer
        ];
        for (buf, start, err) in cases {
            assert_eq!(parse(buf, *start), Err(*err), "{buf:?}");
        }
    }

    #[test]
    fn pointer_chain_limits() {
        // A chain of pointers each pointing at the previous one: 0 is the root label.
        let mut buf = vec![0u8];
        for i in 0..200usize {
            let target = if i == 0 { 0 } else { 1 + 2 * (i - 1) };
            buf.extend_from_slice(&[0xc0 | (target >> 8) as u8, target as u8]);
        }
        let at = |hops: usize| 1 + 2 * (hops - 1);
        assert_eq!(
            parse(&buf, at(MAX_POINTER_HOPS)),
            Ok((".".into(), at(127) + 2))
        );
        assert_eq!(
            parse(&buf, at(MAX_POINTER_HOPS + 1)),
            Err(WireError::TooManyPointers)
        );
    }

    fn wire(labels: &[usize], fill: u8) -> Vec<u8> {
        let mut v = Vec::new();
        for &len in labels {
            v.push(len as u8);
            v.extend(std::iter::repeat_n(fill, len));
        }
        v.push(0);
        v
    }

    #[test]
    fn name_length_limits() {
        let ok = wire(&[63, 63, 63, 61], b'a');
        assert_eq!(ok.len(), 255);
        assert!(parse(&ok, 0).is_ok());
        let long = wire(&[63, 63, 63, 62], b'a');
        assert_eq!(parse(&long, 0), Err(WireError::NameTooLong));
        // 255 bytes only after decompression is fine, 257 is not.
        let mut buf = wire(&[63, 63, 61], b'a'); // 191 bytes
        buf.extend(&wire(&[63], b'b')[..64]);
        buf.extend_from_slice(b"\xc0\x00");
        assert_eq!(parse(&buf, 191).map(|(_, end)| end), Ok(191 + 66));
        let mut buf = wire(&[63, 63, 61], b'a');
        buf.extend(&wire(&[63, 1], b'b')[..66]);
        buf.extend_from_slice(b"\xc0\x00");
        assert_eq!(parse(&buf, 191), Err(WireError::NameTooLong));
    }

    #[test]
    fn limit_stops_inline_part() {
        let buf = b"\x03abc\x00";
        assert_eq!(
            parse_name(buf, 0, 4, Compression::Allowed).err(),
            Some(WireError::Truncated)
        );
        assert_eq!(
            parse_name(b"\x00\xc0\x00", 1, 3, Compression::Forbidden).err(),
            Some(WireError::UnexpectedPointer)
        );
    }

    #[test]
    fn eq_ignore_case_and_canonical() {
        let buf = b"\x03WwW\x07Example\x03cOm\x00\x03www\xc0\x04";
        let (a, _) = parse_name(buf, 0, buf.len(), Compression::Allowed).unwrap();
        let (b, _) = parse_name(buf, 17, buf.len(), Compression::Allowed).unwrap();
        assert!(a.eq_ignore_case(&b) && b.eq_ignore_case(&a));
        let (c, _) = parse_name(buf, 4, buf.len(), Compression::Allowed).unwrap();
        assert!(!a.eq_ignore_case(&c));
        let mut out = vec![0xff];
        b.write_canonical(&mut out);
        assert_eq!(&out[1..], b"\x03www\x07example\x03com\x00");
        assert_eq!(a.to_name_buf(), nb("www.example.com"));
        assert_eq!((a.wire_len(), a.label_count(), a.is_root()), (17, 3, false));
        assert_eq!(a.to_string(), "WwW.Example.cOm.");
        assert_eq!(format!("{c:?}"), "Name(Example.cOm.)");
    }

    #[test]
    fn name_buf_basics() {
        let n = nb("Www.Example.COM.");
        assert_eq!(n.as_wire(), b"\x03www\x07example\x03com\x00");
        assert_eq!(n.label_count(), 3);
        assert_eq!(
            n.labels().collect::<Vec<_>>(),
            vec![&b"www"[..], b"example", b"com"]
        );
        assert_eq!(n.parent(), Some(nb("example.com.")));
        assert_eq!(nb("com").parent(), Some(NameBuf::root()));
        assert_eq!(NameBuf::root().parent(), None);
        assert_eq!(NameBuf::root().label_count(), 0);
        assert_eq!(n.to_string(), "www.example.com.");
        assert_eq!(format!("{n:?}"), "NameBuf(www.example.com.)");
        assert_eq!(NameBuf::from_wire(b"\x01A\x00").unwrap(), nb("a"));
        assert_eq!(
            NameBuf::from_wire(b"\x01a\x00\x00"),
            Err(WireError::TrailingData)
        );
        assert_eq!(
            NameBuf::from_wire(b"\x01a\xc0\x00"),
            Err(WireError::UnexpectedPointer)
        );
        assert_eq!(NameBuf::from_wire(b""), Err(WireError::Truncated));
    }

    #[test]
    fn names_relative_to_an_origin() {
        let origin = nb("example.com.");
        let cases = [
            ("@", "example.com."),
            ("www", "www.example.com."),
            ("WWW.Sub", "www.sub.example.com."),
            ("www.other.", "www.other."),
            (".", "."),
            (r"a\.", r"a\..example.com."),
            (r"a\\.", r"a\\."),
            (r"a\046", r"a\..example.com."),
            (r"a\\\046", r"a\\\..example.com."),
        ];
        for (text, want) in cases {
            let name = NameBuf::from_text_in(text, &origin).unwrap();
            assert_eq!(name.to_text(), want, "{text}");
        }
        let long_origin = NameBuf::from_text(&vec!["a".repeat(63); 3].join(".")).unwrap();
        assert_eq!(
            NameBuf::from_text_in(&"b".repeat(63), &long_origin),
            Err(WireError::NameTooLong)
        );
        assert!(NameBuf::from_text_in("", &origin).is_err());
    }

    #[test]
    fn subdomains() {
        let cases = [
            ("www.example.com.", "com.", true),
            ("www.example.com.", "example.com.", true),
            ("example.com.", "example.com.", true),
            ("example.com.", ".", true),
            (".", ".", true),
            ("www.bankcom.", "com.", false),
            ("notrogue-r.org.", "rogue-r.org.", false),
            ("com.", "example.com.", false),
            (".", "com.", false),
            ("a.b.c.", "b.C.", true),
        ];
        for (name, zone, want) in cases {
            let (n, z) = (nb(name), nb(zone));
            assert_eq!(n.is_subdomain_of(&z), want, "{name} under {zone}");
            assert_eq!(is_subdomain_wire(n.as_wire(), z.as_wire()), want);
        }
        // Upper-case input and malformed input.
        assert!(is_subdomain_wire(b"\x01A\x03COM\x00", b"\x03com\x00"));
        assert!(!is_subdomain_wire(b"\x01a\x03com", b"\x03com\x00"));
        assert!(!is_subdomain_wire(b"\x01a\x03com\x00", b"\x03com"));
        assert!(!is_subdomain_wire(b"\x01a\xc0\x00", b"\x00"));
        assert!(!is_subdomain_wire(b"", b""));
        // Label lengths that happen to spell the zone must not match.
        assert!(!is_subdomain_wire(b"\x05a\x03com\x00", b"\x03com\x00"));
    }
}
