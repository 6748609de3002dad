use dnsledger_wire::{rdata_generic, rdata_to_text, type_name, NameBuf};

/// The identity of an RRset in the history: (rrname, rrtype, bailiwick, rdata set).
///
/// Held as one byte string (see [`RRset::encode`]) so that an aggregation table keyed by it
/// costs one allocation per distinct RRset, hashes one slice and compares with one memcmp,
/// and so that it can be probed with bytes encoded into a reusable buffer.
///
/// Invariants: names are canonical wire names (lower case, uncompressed); `rdata` holds
/// canonical wire forms (RFC 4034 section 6.2), sorted bytewise and distinct, so the same set
/// seen by two sensors in any order is one key. TTL is not part of the identity. The
/// bailiwick is absent only for client-side observations (RD=1 traffic), which carry no
/// authority context. Ordering is that of the encoded bytes: deterministic, not DNS order.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RRset {
    encoded: Box<[u8]>,
}

/// Hashes and compares exactly as the encoded bytes do, so maps keyed by `RRset` can be
/// probed with a `&[u8]`.
impl std::borrow::Borrow<[u8]> for RRset {
    fn borrow(&self) -> &[u8] {
        &self.encoded
    }
}

/// Why bytes are not an encoded RRset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an encoded RRset: {0}")]
pub struct RRsetError(&'static str);

impl RRset {
    /// Builds an RRset, sorting and de-duplicating the rdata so the identity is canonical.
    pub fn new(
        rrname: NameBuf,
        rrtype: u16,
        bailiwick: Option<NameBuf>,
        mut rdata: Vec<Vec<u8>>,
    ) -> RRset {
        rdata.sort_unstable();
        rdata.dedup();
        let mut encoded = Vec::new();
        RRset::encode(
            &mut encoded,
            rrname.as_wire(),
            rrtype,
            bailiwick.as_ref().map(NameBuf::as_wire),
            rdata.iter().map(Vec::as_slice),
        );
        RRset {
            encoded: encoded.into_boxed_slice(),
        }
    }

    /// Appends the encoding of an RRset to `out`:
    /// `owner wire | rrtype u16 BE | 0, or 1 and bailiwick wire | rdata count u16 BE |
    /// (rdata length u16 BE | rdata)*`. The caller guarantees the invariants of [`RRset`]:
    /// canonical names, rdata sorted and distinct (each at most 65535 bytes, as on the wire).
    pub fn encode<'r>(
        out: &mut Vec<u8>,
        rrname: &[u8],
        rrtype: u16,
        bailiwick: Option<&[u8]>,
        rdata: impl IntoIterator<Item = &'r [u8]>,
    ) {
        out.extend_from_slice(rrname);
        out.extend_from_slice(&rrtype.to_be_bytes());
        match bailiwick {
            Some(zone) => {
                out.push(1);
                out.extend_from_slice(zone);
            }
            None => out.push(0),
        }
        let count_at = out.len();
        out.extend_from_slice(&[0, 0]);
        let mut count: u16 = 0;
        for r in rdata {
            out.extend_from_slice(&(r.len() as u16).to_be_bytes());
            out.extend_from_slice(r);
            count += 1;
        }
        out[count_at..count_at + 2].copy_from_slice(&count.to_be_bytes());
    }

    /// An RRset from bytes that [`RRset::encode`] produced in this process under the
    /// invariants, without checking them again (the aggregation hot path). Bytes of any other
    /// origin go through [`RRset::from_encoded`]. Wrong bytes cannot cause a panic, only a
    /// wrong RRset.
    pub fn from_encoded_trusted(encoded: &[u8]) -> RRset {
        RRset {
            encoded: Box::from(encoded),
        }
    }

    /// An RRset from bytes of unknown origin: every invariant is checked.
    pub fn from_encoded(encoded: &[u8]) -> Result<RRset, RRsetError> {
        let layout = Layout::parse(encoded).ok_or(RRsetError("bad layout"))?;
        let name_ok = |wire: &[u8]| NameBuf::from_wire(wire).is_ok_and(|n| n.as_wire() == wire);
        if !name_ok(&encoded[..layout.owner_end]) || !layout.bailiwick(encoded).is_none_or(name_ok)
        {
            return Err(RRsetError("names must be canonical wire names"));
        }
        let rrset = RRset {
            encoded: Box::from(encoded),
        };
        let rdata: Vec<&[u8]> = rrset.rdata().collect();
        if !rdata.windows(2).all(|pair| pair[0] < pair[1]) {
            return Err(RRsetError("rdata must be sorted and distinct"));
        }
        Ok(rrset)
    }

    /// The encoded form (see [`RRset::encode`]).
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    /// The parts, read from the encoding once.
    pub fn parts(&self) -> RRsetParts<'_> {
        RRsetParts::of_encoded(&self.encoded)
    }

    /// The owner, canonical wire form. Read without the rest of the layout: writers ask
    /// for the owner of every observation they write.
    pub fn rrname_wire(&self) -> &[u8] {
        let end = wire_name_len(&self.encoded).unwrap_or_default();
        &self.encoded[..end]
    }

    pub fn rrname(&self) -> NameBuf {
        NameBuf::from_wire(self.rrname_wire()).unwrap_or_else(|_| NameBuf::root())
    }

    pub fn rrtype(&self) -> u16 {
        self.parts().rrtype
    }

    /// The bailiwick, canonical wire form.
    pub fn bailiwick_wire(&self) -> Option<&[u8]> {
        self.parts().bailiwick
    }

    pub fn bailiwick(&self) -> Option<NameBuf> {
        self.bailiwick_wire()
            .and_then(|wire| NameBuf::from_wire(wire).ok())
    }

    /// Canonical wire rdata, sorted bytewise.
    pub fn rdata(&self) -> impl Iterator<Item = &[u8]> {
        self.parts().rdata()
    }

    /// The rdata in presentation format, in identity order. Rdata that does not fit its type
    /// (possible only for data that came from outside the sensor) is shown in RFC 3597 form.
    pub fn rdata_text(&self) -> Vec<String> {
        let parts = self.parts();
        parts
            .rdata()
            .map(|r| rdata_to_text(parts.rrtype, r).unwrap_or_else(|_| rdata_generic(r)))
            .collect()
    }

    /// The rrtype mnemonic, or `TYPEnnn`.
    pub fn rrtype_text(&self) -> String {
        type_name(self.rrtype()).into_owned()
    }
}

impl std::fmt::Debug for RRset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RRset")
            .field("rrname", &self.rrname().to_text())
            .field("rrtype", &self.rrtype_text())
            .field("bailiwick", &self.bailiwick().map(|b| b.to_text()))
            .field("rdata", &self.rdata_text())
            .finish()
    }
}

/// The parts of an RRset, borrowed from its encoding.
#[derive(Clone, Copy, Debug)]
pub struct RRsetParts<'a> {
    /// The owner, canonical wire form.
    pub rrname: &'a [u8],
    pub rrtype: u16,
    /// The bailiwick, canonical wire form; `None` for client-side data.
    pub bailiwick: Option<&'a [u8]>,
    /// The encoded rdata list: (length u16 BE, bytes) pairs.
    rdata: &'a [u8],
}

impl<'a> RRsetParts<'a> {
    /// The parts of bytes that [`RRset::encode`] produced in this process (as
    /// [`RRset::from_encoded_trusted`] takes them), read from the encoding once. Wrong bytes
    /// cannot cause a panic, only wrong parts.
    pub fn of_encoded(bytes: &'a [u8]) -> RRsetParts<'a> {
        // Every constructor guarantees a valid layout; the fallback only keeps this total.
        let layout = Layout::parse(bytes).unwrap_or_default();
        let at = layout.owner_end;
        RRsetParts {
            rrname: bytes.get(..at).unwrap_or_default(),
            rrtype: bytes
                .get(at..at + 2)
                .map_or(0, |b| u16::from_be_bytes([b[0], b[1]])),
            bailiwick: layout.bailiwick(bytes),
            rdata: bytes.get(layout.rdata_start..).unwrap_or_default(),
        }
    }

    /// Canonical wire rdata, sorted bytewise.
    pub fn rdata(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let mut rest = self.rdata;
        std::iter::from_fn(move || {
            let (len, after) = rest.split_first_chunk::<2>()?;
            let (rdata, next) = after.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
            rest = next;
            Some(rdata)
        })
    }
}

/// Where the parts of an encoded RRset lie.
#[derive(Default)]
struct Layout {
    owner_end: usize,
    bailiwick: Option<(usize, usize)>,
    rdata_start: usize,
}

impl Layout {
    /// Finds the parts, checking that every length stays inside the bytes and that nothing
    /// follows the last rdata.
    fn parse(bytes: &[u8]) -> Option<Layout> {
        let owner_end = wire_name_len(bytes)?;
        let tag_at = owner_end + 2;
        let (bailiwick, count_at) = match bytes.get(tag_at)? {
            0 => (None, tag_at + 1),
            1 => {
                let start = tag_at + 1;
                let end = start + wire_name_len(bytes.get(start..)?)?;
                (Some((start, end)), end)
            }
            _ => return None,
        };
        let count = u16::from_be_bytes(bytes.get(count_at..count_at + 2)?.try_into().ok()?);
        let rdata_start = count_at + 2;
        let mut at = rdata_start;
        for _ in 0..count {
            let len = u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?);
            at += 2 + usize::from(len);
        }
        (at == bytes.len()).then_some(Layout {
            owner_end,
            bailiwick,
            rdata_start,
        })
    }

    fn bailiwick<'a>(&self, bytes: &'a [u8]) -> Option<&'a [u8]> {
        self.bailiwick
            .and_then(|(start, end)| bytes.get(start..end))
    }
}

/// Length of the wire name at the start of `bytes`, root label included; `None` if it runs
/// past the end or is longer than a name may be.
fn wire_name_len(bytes: &[u8]) -> Option<usize> {
    let mut at = 0usize;
    loop {
        let label = usize::from(*bytes.get(at)?);
        at += 1 + label;
        if label == 0 {
            return (at <= 255).then_some(at);
        }
        if label > 63 || at > 255 {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> NameBuf {
        NameBuf::from_text(text).unwrap()
    }

    fn sample() -> RRset {
        RRset::new(
            name("example.com."),
            2,
            Some(name("com.")),
            vec![
                b"\x03ns2\x00".to_vec(),
                b"\x03ns1\x00".to_vec(),
                b"\x03ns1\x00".to_vec(),
            ],
        )
    }

    #[test]
    fn new_sorts_and_deduplicates_rdata() {
        let rrset = sample();
        let rdata: Vec<&[u8]> = rrset.rdata().collect();
        assert_eq!(rdata, vec![&b"\x03ns1\x00"[..], &b"\x03ns2\x00"[..]]);
    }

    #[test]
    fn parts_read_back_from_the_encoding() {
        let rrset = sample();
        assert_eq!(rrset.rrname(), name("example.com."));
        assert_eq!(rrset.rrtype(), 2);
        assert_eq!(rrset.bailiwick(), Some(name("com.")));
        let client_side = RRset::new(name("."), 1, None, vec![vec![192, 0, 2, 1]]);
        assert_eq!(client_side.bailiwick_wire(), None);
        assert_eq!(client_side.rdata_text(), ["192.0.2.1"]);
    }

    #[test]
    fn encoding_into_a_buffer_equals_the_owned_key() {
        let owned = sample();
        let rdata: Vec<&[u8]> = owned.rdata().collect();
        let mut buffer = Vec::new();
        RRset::encode(
            &mut buffer,
            owned.rrname_wire(),
            2,
            owned.bailiwick_wire(),
            rdata,
        );
        assert_eq!(buffer, owned.encoded());
        assert_eq!(RRset::from_encoded(&buffer), Ok(owned));
    }

    #[test]
    fn a_different_bailiwick_is_a_different_rrset() {
        let parent_side = sample();
        let child_side = RRset::new(
            name("example.com."),
            2,
            Some(name("example.com.")),
            parent_side.rdata().map(<[u8]>::to_vec).collect(),
        );
        assert_ne!(parent_side, child_side);
    }

    #[test]
    fn untrusted_bytes_are_checked() {
        let good = sample().encoded().to_vec();
        for cut in 0..good.len() {
            assert!(
                RRset::from_encoded(&good[..cut]).is_err(),
                "prefix of {cut} bytes accepted"
            );
        }
        let mut upper = good.clone();
        upper[1] = b'E';
        assert!(
            RRset::from_encoded(&upper).is_err(),
            "upper-case owner accepted"
        );
        let unsorted = {
            let mut bytes = Vec::new();
            RRset::encode(
                &mut bytes,
                b"\x00",
                2,
                None,
                [&b"\x03ns2\x00"[..], &b"\x03ns1\x00"[..]],
            );
            bytes
        };
        assert!(
            RRset::from_encoded(&unsorted).is_err(),
            "unsorted rdata accepted"
        );
    }
}
